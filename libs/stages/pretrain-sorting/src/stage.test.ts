import { before, describe, it } from "node:test"
import assert from "node:assert/strict"
import { Exit } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { Progress } from "@tomoprior/core"
import { phantomTupleSet, runPretrainStage } from "@tomoprior/pretrain/testing"
import { checkParamsTable } from "@tomoprior/testkit"
import { PretrainSortingParams } from "./params.ts"
import { pretrainSortingStage } from "./stage.ts"

const weights = (dir: string) => new Float32Array(new Uint8Array(readFileSync(join(dir, "model", "weights.bin"))).buffer)

let tuples: string
before(async () => {
  tuples = await phantomTupleSet({ volumes: 4, size: 32, slices: 24, groupSize: 8, groupsPerEpoch: 10, epochs: 3, validation: 1, seed: 1 })
})

const base = { inputSize: 32, width: 0.5, learningRate: 3e-3, validationSlices: 24 }

describe("pretrain-sorting", () => {
  it("learns the slice order of held-out phantoms far beyond the untrained encoder, with flat tensor counts", async () => {
    const events: Array<Progress> = []
    const run = await runPretrainStage(
      pretrainSortingStage,
      tuples,
      { ...base, checkpointEvery: 100 },
      { onProgress: (p) => events.push(p) }
    )
    assert.ok(Exit.isSuccess(run.exit), String(Exit.isFailure(run.exit) ? run.exit.cause : ""))
    const index = run.index()
    assert.equal(index.method, "sorting")
    assert.equal(index.steps, 30)
    assert.equal(index.history.length, 3)
    const { spearman, pairsCorrect, untrained_spearman, untrained_pairsCorrect } = index.final
    assert.ok(spearman > 0.6 && spearman > untrained_spearman + 0.3, `spearman ${spearman} vs untrained ${untrained_spearman}`)
    assert.ok(pairsCorrect > untrained_pairsCorrect + 0.15, `pairs ${pairsCorrect} vs untrained ${untrained_pairsCorrect}`)
    assert.ok(existsSync(join(run.out, "model", "model.json")))
    assert.equal(run.provenance.backend, "wasm")
    // Worker tensor counts after each step: no step leaves tensors behind.
    const tensors = events.map((e) => e.metrics!.tensors)
    assert.ok(tensors.length === 30 && tensors.every((n) => n === tensors[0]), `tensor counts ${tensors}`)
    const last = events.at(-1)!
    assert.equal(last.done, 30)
    assert.ok(last.metrics!.loss > 0 && last.metrics!.slicesPerSecond > 0 && last.metrics!.etaSeconds === 0)
  })

  it("resumes after an interruption and ends with the same encoder as an uninterrupted run", async () => {
    const params = { ...base, steps: 8, checkpointEvery: 3 }
    const straight = await runPretrainStage(pretrainSortingStage, tuples, params)
    assert.ok(Exit.isSuccess(straight.exit))
    const interrupted = await runPretrainStage(pretrainSortingStage, tuples, params, { stopAt: 5 })
    assert.ok(Exit.isFailure(interrupted.exit) && Exit.hasInterrupts(interrupted.exit))
    const resumed = await runPretrainStage(pretrainSortingStage, tuples, params, { workDir: interrupted.workDir })
    assert.ok(Exit.isSuccess(resumed.exit))
    assert.ok(resumed.logs.includes("resuming from step 3"), resumed.logs.join("\n"))
    assert.deepEqual(weights(resumed.out), weights(straight.out))
    // The whole index, history included: the same encoder whatever the run, its timing or its interruptions.
    assert.deepEqual(resumed.index(), straight.index())
  })

  it("logs k-NN and linear probe balanced accuracy at every validation when two validation volumes are labeled", async () => {
    const two = await phantomTupleSet({
      volumes: 4,
      size: 32,
      slices: 24,
      groupSize: 8,
      groupsPerEpoch: 4,
      epochs: 2,
      validation: 2,
      seed: 2,
      labels: true
    })
    const run = await runPretrainStage(pretrainSortingStage, two, { ...base, checkpointEvery: 100 })
    assert.ok(Exit.isSuccess(run.exit), String(Exit.isFailure(run.exit) ? run.exit.cause : ""))
    const { history, final } = run.index()
    for (const metrics of [...history.map((h) => h.metrics), final])
      for (const k of ["knnProbe", "linearProbe"]) assert.ok(metrics[k] >= 0 && metrics[k] <= 1, `${k} ${metrics[k]}`)
    assert.ok(final.untrained_knnProbe >= 0 && final.untrained_linearProbe >= 0)
    // With one validation volume there is nothing to leave out: no probe, and the log says why.
    const one = await runPretrainStage(pretrainSortingStage, tuples, { ...base, steps: 1 })
    assert.equal(one.index().final.knnProbe, undefined)
    assert.ok(
      one.logs.some((l) => l.startsWith("no k-NN / linear probes")),
      one.logs.join("\n")
    )
  })

  it("rejects a partition count that does not divide the group", async () => {
    const run = await runPretrainStage(pretrainSortingStage, tuples, { ...base, steps: 1, normalize: true, partitions: 3 })
    assert.ok(Exit.isFailure(run.exit))
    assert.match(String(run.exit.cause), /not divisible into 3 partitions/)
  })
})

it("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), PretrainSortingParams)
})
