import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect, Schema } from "effect"
import { LocalizationIndex } from "@tomoprior/core"
import { checkParamsTable, runStageForTest, SIZE, tinyVolumeSet } from "@tomoprior/testkit"
import { untrainedEncoder } from "@tomoprior/compute/testing"
import { computeLayer } from "@tomoprior/compute"
import { LocalizeParams } from "./params.ts"
import { localizeStage } from "./stage.ts"

const compute = computeLayer({ backend: "wasm", threads: 1 })

test("localize aligns scans on a score model's pooled features and leaves no tensors behind", async () => {
  const volumes = await Effect.runPromise(tinyVolumeSet(3))
  const encoder = await Effect.runPromise(untrainedEncoder("sorting", SIZE))
  const tf = await import("@tensorflow/tfjs-core")
  const run = () => Effect.runPromise(runStageForTest(localizeStage, { params: {}, inputs: { encoder, volumes }, compute }))
  await run()
  const before = tf.memory().numTensors
  const { outputs } = await run()
  assert.equal(tf.memory().numTensors, before)
  const index = Schema.decodeUnknownSync(LocalizationIndex)(JSON.parse(readFileSync(join(outputs.localization.dir, "index.json"), "utf8")))
  assert.equal(index.alignedOn, "embeddings")
  // 2 labels in each of 3 volumes, each located from the other 2
  assert.equal(index.multiReference!.length, 6)
  assert.ok(index.multiReference!.every((m) => m.references === 2))
  // per organ and headline rows for each of the four localizers
  assert.equal(index.summary!.length, 4 * 3)
})

test("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), LocalizeParams)
})
