import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect, Exit, Schema } from "effect"
import { computeLayer } from "@tomoprior/compute"
import { untrainedEncoder } from "@tomoprior/compute/testing"
import { CheckpointMetadata, SegmenterIndex } from "@tomoprior/core"
import { checkParamsTable, runStageForTest, SIZE, tinyVolumeSet } from "@tomoprior/testkit"
import { FinetuneParams } from "./params.ts"
import { finetuneStage } from "./stage.ts"

const decode = Schema.decodeUnknownExit(FinetuneParams)
const problem = (params: unknown): string => {
  const exit = decode(params, { onExcessProperty: "error" })
  assert.ok(Exit.isFailure(exit), `${JSON.stringify(params)} should be refused`)
  return String(exit.cause)
}

test("the label budget: fraction 1 by default, fraction or everyK when given, never both (at `everyK`, so plan can point at it)", () => {
  const budget = (params: unknown) => (decode(params) as Exit.Success<FinetuneParams>).value.budget
  assert.deepEqual(budget({}), { fraction: 1 })
  assert.deepEqual(budget({ fraction: 0.05 }), { fraction: 0.05 })
  assert.deepEqual(budget({ everyK: 4 }), { everyK: 4 })
  assert.match(problem({ fraction: 0.1, everyK: 5 }), /give `fraction` or `everyK`, not both[\s\S]*at \["everyK"\]/)
  assert.match(problem({ fraction: 1.5 }), /at \["fraction"\]/)
  assert.match(problem({ batchSize: 5 }), /multiple of 2[\s\S]*at \["batchSize"\]/)
})

test("fine-tunes from a pre-trained encoder on every 3rd slice of the training volumes and records what it saw", async () => {
  const volumes = await Effect.runPromise(tinyVolumeSet(3))
  const encoder = await Effect.runPromise(untrainedEncoder("sorting", SIZE))
  const run = await Effect.runPromise(
    runStageForTest(finetuneStage, {
      params: { everyK: 3, steps: 6, batchSize: 4, heldOut: 1, logEvery: 3, seed: 5 },
      inputs: { encoder, volumes },
      compute: computeLayer({ backend: "wasm", threads: 1 })
    })
  )
  const dir = run.outputs.segmenter.dir
  const index = Schema.decodeUnknownSync(Schema.fromJsonString(SegmenterIndex))(readFileSync(join(dir, "index.json"), "utf8"))
  assert.equal(index.pretraining, "sorting")
  assert.deepEqual([index.fraction, index.everyK, index.seed], [null, 3, 5])
  // tinyVolumeSet's depths are 18, 21, 24: the last volume is held out
  assert.deepEqual(index.trainVolumes, ["v0", "v1"])
  assert.deepEqual(index.heldOutVolumes, ["v2"])
  const every3rd = (depth: number) => Array.from({ length: Math.ceil(depth / 3) }, (_, i) => 3 * i)
  assert.deepEqual(index.trainingSlices, [
    { volume: "v0", slices: every3rd(18) },
    { volume: "v1", slices: every3rd(21) }
  ])
  assert.deepEqual(
    index.history.map((h) => h.step),
    [3, 6]
  )
  assert.ok(index.history.every((h) => Number.isFinite(h.loss) && h.loss > 0))
  const model = JSON.parse(readFileSync(join(dir, "model", "model.json"), "utf8")).userDefinedMetadata.tomoprior
  const metadata = Schema.decodeUnknownSync(CheckpointMetadata)(model)
  assert.deepEqual([metadata.method, metadata.inputSize, metadata.steps, metadata.settings?.everyK], ["finetune", SIZE, 6, 3])
  assert.equal(run.provenance.backend, "wasm")
  assert.match(run.logs[0], /^compute: wasm .*encoder from sorting$/)
})

test("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), FinetuneParams)
})
