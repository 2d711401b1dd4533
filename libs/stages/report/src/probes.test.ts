import assert from "node:assert/strict"
import { test } from "node:test"
import type { EncoderIndex } from "@tomoprior/core"
import { probeTable } from "./probes.ts"

const encoder = (method: string, final: Record<string, number>): { producer: string; index: EncoderIndex } => ({
  producer: method,
  index: {
    kind: "Encoder",
    method,
    architecture: "ref-resnet",
    width: 1,
    inputSize: 32,
    model: "model",
    steps: 1,
    history: [],
    final,
    settings: {}
  }
})

test("the probe table shows untrained → pre-trained balanced accuracy per encoder that logged probes", () => {
  const html = probeTable([
    encoder("sorting", { spearman: 0.9, knnProbe: 0.8, linearProbe: 0.85, untrained_knnProbe: 0.55, untrained_linearProbe: 0.6 }),
    encoder("simclr", { viewTop1: 0.7 })
  ])
  assert.match(html, /<td>sorting<\/td><td>sorting<\/td><td>0\.550 → <b>0\.800<\/b><\/td><td>0\.600 → <b>0\.850<\/b><\/td>/)
  assert.doesNotMatch(html, /simclr/)
  assert.equal(probeTable([encoder("simclr", { viewTop1: 0.7 })]), "")
})
