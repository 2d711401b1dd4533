import { before, describe, it } from "node:test"
import assert from "node:assert/strict"
import { Effect, Exit, Schema } from "effect"
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { EncoderIndex, type Progress } from "@tomoprior/core"
import { phantomTupleSet } from "@tomoprior/augment/testing"
import { artifactFromDir, tempDir } from "@tomoprior/testkit"
import { pretrainSorting } from "./stage.ts"

/**
 * Runs the stage with a hand-made context so a test can watch every progress event and stop the
 * run mid-way (returning Effect.interrupt from the progress callback interrupts the stage's fiber,
 * as Ctrl-C would).
 */
const runStage = async (tuples: string, params: Record<string, unknown>, options: { workDir?: string; stopAt?: number; onProgress?: (p: Progress) => void } = {}) => {
  const root = tempDir("pretrain-sorting-")
  const out = join(root, "encoder")
  mkdirSync(out)
  const workDir = options.workDir ?? join(root, "work")
  mkdirSync(workDir, { recursive: true })
  const logs: Array<string> = []
  const provenance: Record<string, unknown> = {}
  const exit = await Effect.runPromiseExit(
    Effect.flatMap(Schema.decodeUnknownEffect(pretrainSorting.params)(params), (decoded) =>
      pretrainSorting.run({
        pipeline: "test",
        stageId: "pretrain",
        params: decoded,
        inputs: { tuples: artifactFromDir("TupleSet", tuples) },
        outputs: { encoder: out },
        workDir,
        compute: { backend: "wasm", threads: 1 },
        progress: (p) => {
          options.onProgress?.(p)
          return options.stopAt !== undefined && p.done >= options.stopAt ? Effect.interrupt : Effect.void
        },
        log: (m) => Effect.sync(() => void logs.push(m)),
        provenance: (f) => Effect.sync(() => void Object.assign(provenance, f))
      })
    )
  )
  return { exit, out, workDir, logs, provenance }
}

const readIndex = (dir: string) => Schema.decodeUnknownSync(Schema.fromJsonString(EncoderIndex))(readFileSync(join(dir, "index.json"), "utf8"))
const weights = (dir: string) => new Float32Array(new Uint8Array(readFileSync(join(dir, "model", "weights.bin"))).buffer)

let tuples: string
before(async () => {
  tuples = await phantomTupleSet({ volumes: 4, size: 32, slices: 24, groupSize: 8, groupsPerEpoch: 10, epochs: 3, validation: 1, seed: 1 })
})

const base = { inputSize: 32, width: 0.5, learningRate: 3e-3, validationSlices: 24 }

describe("pretrain-sorting", () => {
  it("learns the slice order of held-out phantoms far beyond the untrained encoder, with flat tensor counts", async () => {
    const tensorsPerStep: Array<number> = []
    const events: Array<Progress> = []
    const run = await runStage(tuples, { ...base, checkpointEvery: 100 }, {
      onProgress: (p) => {
        events.push(p)
        tensorsPerStep.push(p.metrics!.tensors)
      }
    })
    assert.ok(Exit.isSuccess(run.exit), String(Exit.isFailure(run.exit) ? run.exit.cause : ""))
    const index = readIndex(run.out)
    assert.equal(index.method, "sorting")
    assert.equal(index.steps, 30)
    assert.equal(index.history.length, 3)
    const { spearman, pairsCorrect, untrained_spearman, untrained_pairsCorrect } = index.final
    assert.ok(spearman > 0.6 && spearman > untrained_spearman + 0.3, `spearman ${spearman} vs untrained ${untrained_spearman}`)
    assert.ok(pairsCorrect > untrained_pairsCorrect + 0.15, `pairs ${pairsCorrect} vs untrained ${untrained_pairsCorrect}`)
    assert.ok(existsSync(join(run.out, "model", "model.json")))
    assert.equal(run.provenance.backend, "wasm")
    // Worker tensor counts after each step: no step leaves tensors behind.
    assert.ok(tensorsPerStep.length === 30 && tensorsPerStep.every((n) => n === tensorsPerStep[0]), `tensor counts ${tensorsPerStep}`)
    const last = events.at(-1)!
    assert.equal(last.done, 30)
    assert.ok(last.metrics!.loss > 0 && last.metrics!.slicesPerSecond > 0 && last.metrics!.etaSeconds === 0)
  })

  it("resumes after an interruption and ends with the same encoder as an uninterrupted run", async () => {
    const params = { ...base, steps: 12, checkpointEvery: 4 }
    const straight = await runStage(tuples, params)
    assert.ok(Exit.isSuccess(straight.exit))
    const interrupted = await runStage(tuples, params, { stopAt: 7 })
    assert.ok(Exit.isFailure(interrupted.exit) && Exit.hasInterrupts(interrupted.exit))
    const resumed = await runStage(tuples, params, { workDir: interrupted.workDir })
    assert.ok(Exit.isSuccess(resumed.exit))
    assert.ok(resumed.logs.includes("resuming from step 4"), resumed.logs.join("\n"))
    assert.deepEqual(weights(resumed.out), weights(straight.out))
    assert.deepEqual(readIndex(resumed.out).final, { ...readIndex(straight.out).final })
  })

  it("rejects a partition count that does not divide the group", async () => {
    const run = await runStage(tuples, { ...base, steps: 1, normalize: true, partitions: 3 })
    assert.ok(Exit.isFailure(run.exit))
    assert.match(String(run.exit.cause), /not divisible into 3 partitions/)
  })
})
