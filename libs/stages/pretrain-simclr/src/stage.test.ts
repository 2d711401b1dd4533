import { before, describe, it } from "node:test"
import assert from "node:assert/strict"
import { Exit } from "effect"
import type { Progress } from "@tomoprior/core"
import { phantomTupleSet, runPretrainStage } from "@tomoprior/pretrain/testing"
import { checkParamsTable } from "@tomoprior/testkit"
import { PretrainSimclrParams } from "./params.ts"
import { pretrainSimclrStage } from "./stage.ts"

let tuples: string
before(async () => {
  tuples = await phantomTupleSet({ volumes: 3, size: 32, slices: 16, groupSize: 8, groupsPerEpoch: 8, epochs: 2, validation: 1, seed: 2 })
})

describe("pretrain-simclr", () => {
  it("trains on two views per slice, lowers NT-Xent, records view metrics beside the untrained ones", async () => {
    const events: Array<Progress> = []
    const run = await runPretrainStage(
      pretrainSimclrStage,
      tuples,
      { inputSize: 32, width: 0.5, learningRate: 3e-3, validationSlices: 8 },
      { onProgress: (p) => events.push(p) }
    )
    assert.ok(Exit.isSuccess(run.exit), String(Exit.isFailure(run.exit) ? run.exit.cause : ""))
    const index = run.index()
    assert.equal(index.method, "simclr")
    assert.equal(index.steps, 16)
    assert.equal(index.settings.temperature, 0.07)
    assert.equal(index.settings.projectionDims, 256)
    assert.equal(index.settings.loss, "nt-xent")
    for (const k of ["viewTop1", "alignment", "uniformity", "untrained_viewTop1"]) assert.ok(Number.isFinite(index.final[k]), k)
    const losses = events.map((e) => e.metrics!.loss)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    assert.ok(mean(losses.slice(-4)) < mean(losses.slice(0, 4)), `losses ${losses.map((l) => l.toFixed(3))}`)
    const tensors = events.map((e) => e.metrics!.tensors)
    assert.ok(
      tensors.every((n) => n === tensors[0]),
      `tensor counts ${tensors}`
    )
  })
})

it("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), PretrainSimclrParams)
})
