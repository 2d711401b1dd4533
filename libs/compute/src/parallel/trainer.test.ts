import { describe, it } from "node:test"
import assert from "node:assert/strict"
import { mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import { Effect, Exit, type Scope } from "effect"
import { loadCheckpoint } from "../checkpoint/checkpoint.ts"
import { makeTrainer, type TrainerSetup } from "./trainer.ts"
import { rankingTask, segmentationTask } from "./tasks/index.ts"
import { orderedBatch } from "./testing/batches.ts"
import { type Batch, TrainerError } from "@tomoprior/core"

const size = 16
const n = 8

const rankingBatch = (seed: number): Batch => orderedBatch(n, size, seed)

const rankingOptions = (threads: number): TrainerSetup => ({
  task: { module: rankingTask, config: { width: 0.25, depth: 1, inputSize: size, margin: 0.2 } },
  compute: { backend: "wasm", threads },
  partitions: 2,
  optimizer: { lr: 3e-3 },
  seed: 11
})

const failingTask = new URL("./testing/failing-task.ts", import.meta.url)

const run = <A>(body: Effect.Effect<A, TrainerError, Scope.Scope>) => Effect.runPromise(Effect.scoped(body))

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

describe("data-parallel trainer (wasm)", () => {
  it("ref-resnet: 20 Adam steps lower the loss, replicas agree, tensor count stays flat, state resumes exactly, checkpoint loads on cpu", async () => {
    const two = await run(
      Effect.gen(function* () {
        const trainer = yield* makeTrainer(rankingOptions(2))
        assert.equal(trainer.threads, 2)
        const losses: number[] = []
        let tensorsAfterFirst = 0
        for (let s = 0; s < 20; s++) {
          const r = yield* trainer.step(rankingBatch(s % 4))
          losses.push(r.loss)
          assert.equal(new Set(r.checksums).size, 1, `replicas differ after step ${r.step}`)
          if (s === 0) tensorsAfterFirst = (yield* trainer.memory())[0].tensors
        }
        const memory = yield* trainer.memory()
        assert.ok(
          memory.every((m) => m.tensors === tensorsAfterFirst),
          `tensor count grew: ${tensorsAfterFirst} → ${memory.map((m) => m.tensors)}`
        )
        assert.ok(mean(losses.slice(-5)) < 0.5 * mean(losses.slice(0, 5)), `loss did not fall: ${losses.map((l) => l.toFixed(3))}`)

        const state = yield* trainer.getState()
        assert.equal(state.step, 20)
        const next = [yield* trainer.step(rankingBatch(7)), yield* trainer.step(rankingBatch(8))]
        yield* trainer.setState(state)
        const again = [yield* trainer.step(rankingBatch(7)), yield* trainer.step(rankingBatch(8))]
        assert.deepEqual(again, next)

        const dir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "trainer-ckpt-")))
        yield* trainer.save(dir, { architecture: "ref-resnet", width: 0.25, inputSize: size, method: "test" })
        const probe = rankingBatch(9)
        const scores = yield* trainer.evaluate(probe.inputs, probe.shape)
        return { dir, probe, scores, state: yield* trainer.getState() }
      })
    )
    await tf.setBackend("cpu")
    const loaded = await Effect.runPromise(loadCheckpoint(two.dir))
    assert.equal(loaded.metadata.steps, 22)
    assert.equal(loaded.metadata.backend, "wasm")
    const onCpu = (loaded.model.predict(tf.tensor4d(two.probe.inputs, [...two.probe.shape])) as tf.Tensor).dataSync()
    two.scores.data.forEach((v, i) => assert.ok(Math.abs(v - onCpu[i]) < 1e-4, `score ${i}: ${v} vs ${onCpu[i]}`))

    // The same run on one thread (both partitions in one tape) reaches the same weights.
    const one = await run(
      Effect.gen(function* () {
        const trainer = yield* makeTrainer(rankingOptions(1))
        const odd = yield* Effect.exit(
          trainer.step({ inputs: new Float32Array(3 * size * size), shape: [3, size, size, 1], meta: { positions: [0, 1, 2] } })
        )
        assert.ok(Exit.isFailure(odd) && String(odd.cause).includes("divisible by 2 partitions"))
        for (let s = 0; s < 20; s++) yield* trainer.step(rankingBatch(s % 4))
        yield* trainer.step(rankingBatch(7))
        yield* trainer.step(rankingBatch(8))
        const state = yield* trainer.getState()
        const foreign = yield* Effect.exit(trainer.setState({ ...state, shapes: state.shapes.map((s, i) => (i === 0 ? [1, ...s] : s)) }))
        assert.ok(Exit.isFailure(foreign) && String(foreign.cause).includes(`weight ${state.names[0]}`))
        yield* trainer.evaluate(rankingBatch(0).inputs, rankingBatch(0).shape)
        return state
      })
    )
    const scale = Math.max(...two.state.weights.map(Math.abs))
    const worst = two.state.weights.reduce((w, v, i) => Math.max(w, Math.abs(v - one.weights[i])), 0)
    assert.ok(worst < 1e-3 * scale, `1 vs 2 threads: max weight difference ${worst} (scale ${scale})`)
    const bnWorst = two.state.batchNorm.reduce((w, v, i) => Math.max(w, Math.abs(v - one.batchNorm[i])), 0)
    assert.ok(bnWorst < 1e-3, `BN moving statistics differ by ${bnWorst}`)
  })

  it("U-Net (concat skips): 20 Adam steps of softmax cross-entropy lower the loss, tensor count flat", async () => {
    const k = 3
    const inputs = new Float32Array(4 * size * size)
    const targets = new Float32Array(4 * size * size * k)
    for (let i = 0; i < 4 * size * size; i++) {
      const x = i % size
      const y = Math.floor(i / size) % size
      const label = (x - 8) ** 2 + (y - 8) ** 2 < 16 ? 1 : x < 4 ? 2 : 0
      inputs[i] = label === 1 ? 1 : label === 2 ? -0.5 : 0.1 * Math.sin(i)
      targets[i * k + label] = 1
    }
    const losses = await run(
      Effect.gen(function* () {
        const trainer = yield* makeTrainer({
          task: {
            module: segmentationTask,
            config: { width: 0.25, inputSize: size, numClasses: k, upsample: "transpose", skip: "concat" }
          },
          compute: { backend: "wasm", threads: 1 },
          optimizer: { lr: 1e-2 },
          seed: 5
        })
        const out: number[] = []
        const tensors: Array<ReadonlyArray<number>> = []
        for (let s = 0; s < 20; s++) {
          const r = yield* trainer.step({ inputs, shape: [4, size, size, 1], targets: { data: targets, shape: [4, size, size, k] } })
          out.push(r.loss)
          if (s === 0 || s === 19) tensors.push((yield* trainer.memory()).map((m) => m.tensors))
        }
        assert.deepEqual(tensors[1], tensors[0], "tensor count grew")
        return out
      })
    )
    assert.ok(mean(losses.slice(-5)) < 0.8 * mean(losses.slice(0, 5)), `loss did not fall: ${losses.map((l) => l.toFixed(3))}`)
  })

  it("a worker failing mid-step fails that step and later ones instead of hanging; a module that is not a task is rejected", async () => {
    const failing = await run(
      Effect.gen(function* () {
        const trainer = yield* makeTrainer({ ...rankingOptions(2), task: { module: failingTask, config: rankingOptions(2).task.config } })
        const batch = rankingBatch(0)
        yield* trainer.step(batch)
        const failed = yield* Effect.exit(trainer.step({ ...batch, meta: { ...(batch.meta as object), fail: true } }))
        const after = yield* Effect.exit(trainer.step(batch))
        return [failed, after].map((e) => (Exit.isFailure(e) ? String(e.cause) : "ok"))
      })
    )
    assert.match(failing[0], /forward failed on purpose/)
    assert.match(failing[1], /the trainer stopped earlier: .*forward failed on purpose/)
    const bad = await Effect.runPromiseExit(
      Effect.scoped(makeTrainer({ ...rankingOptions(1), task: { module: new URL("./adam.ts", import.meta.url), config: {} } }))
    )
    assert.ok(Exit.isFailure(bad) && String(bad.cause).includes("no default export"))
  })

  // A regression would hang, so the guard fails it instead.
  it(
    "a step whose worker never answers can be interrupted, and the trainer then refuses calls; a worker exiting between calls fails the next call",
    { timeout: 120_000 },
    async () => {
      const misbehaving = (meta: object): Batch => ({ ...rankingBatch(0), meta: { ...(rankingBatch(0).meta as object), ...meta } })
      const outcomes = await run(
        Effect.gen(function* () {
          const trainer = yield* makeTrainer({ ...rankingOptions(2), task: { module: failingTask, config: rankingOptions(2).task.config } })
          // Partition 0 blocks its thread; the other worker waits for it at the output exchange.
          const hung = yield* Effect.exit(trainer.step(misbehaving({ hang: true })).pipe(Effect.timeout("2 seconds")))
          const after = yield* Effect.exit(trainer.step(rankingBatch(0)))
          return [hung, after].map((e) => (Exit.isFailure(e) ? String(e.cause) : "ok"))
        })
      )
      assert.match(outcomes[0], /TimeoutError/)
      assert.match(outcomes[1], /the trainer stopped earlier: step was interrupted/)

      const exited = await run(
        Effect.gen(function* () {
          const trainer = yield* makeTrainer({ ...rankingOptions(2), task: { module: failingTask, config: rankingOptions(2).task.config } })
          yield* trainer.step(misbehaving({ exitAfterReply: true }))
          // The thread ends on its own soon after answering; calls made before that are answered.
          const polled = yield* Effect.exit(Effect.forever(trainer.memory().pipe(Effect.andThen(Effect.sleep("20 millis")))))
          const next = yield* Effect.exit(trainer.step(rankingBatch(1)))
          return [polled, next].map((e) => (Exit.isFailure(e) ? String(e.cause) : "ok"))
        })
      )
      assert.match(exited[0], /worker 0 exited with code 3/)
      assert.match(exited[1], /the trainer stopped earlier: worker 0 exited with code 3/)
    }
  )
})
