import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, test } from "node:test"
import { fileURLToPath } from "node:url"
import * as tf from "@tensorflow/tfjs-core"
import type * as tfl from "@tensorflow/tfjs-layers"
import { nativeSwitch } from "@tomoprior/native"
import { Effect } from "effect"
import { loadCheckpoint } from "../checkpoint/checkpoint.ts"
import { randomValues, relativeError } from "../kernels/testing.ts"
import { buildScoreModel, buildUNet } from "../models/heads.ts"
import { defaultEncoderSpec } from "../models/zoo.ts"
import { makeTrainer } from "../parallel/trainer.ts"
import { rankingTask } from "../parallel/tasks/index.ts"
import { orderedBatch } from "../parallel/testing/batches.ts"
import { nativeKernelCounts, resetNativeKernelCounts } from "./index.ts"
import { nativeSkip, setupNative } from "./testing.ts"

const skip = nativeSkip
const work = mkdtempSync(join(tmpdir(), "tomoprior-native-net-"))
after(() => rmSync(work, { recursive: true, force: true }))
before(() => setupNative())

const encoder = { ...defaultEncoderSpec, width: 0.25, inputSize: 16, seed: 5 }

/** Gradients of every trainable weight of a freshly built (seeded, so identical) model in training mode. */
const gradients = async (backend: "wasm" | "cpu", build: () => tfl.LayersModel, inputShape: ReadonlyArray<number>) => {
  await tf.setBackend(backend)
  const model = build()
  const x = tf.tensor(
    randomValues(
      inputShape.reduce((a, b) => a * b, 1),
      7
    ),
    [...inputShape]
  )
  const { grads, value } = tf.variableGrads(() => {
    const out = model.apply(x, { training: true }) as tf.Tensor
    // Weighted so every output element's gradient differs (a plain mean of a normalized output is flat).
    const weights = tf.tensor(randomValues(out.size, 8), out.shape)
    return tf.sum(tf.mul(tf.square(out), weights)) as tf.Scalar
  })
  // Keyed by the layer's weight name: tfjs makes the variables of a second build unique with a suffix.
  const out: Record<string, Float32Array> = {}
  for (const w of model.trainableWeights) out[w.originalName] = (await grads[(w.read() as tf.Variable).name].data()) as Float32Array
  const loss = (await value.data())[0]
  tf.dispose([x, value, ...Object.values(grads)])
  model.dispose()
  return { grads: out, loss }
}

const networks = [
  { name: "ref-resnet encoder + score head", build: () => buildScoreModel(encoder), input: [4, 16, 16, 1] },
  {
    name: "U-Net (transposed-conv decoder, concatenated skips)",
    build: () => buildUNet({ encoder, numClasses: 3, upsample: "transpose", skip: "concat" }),
    input: [2, 16, 16, 1]
  }
]

for (const net of networks) {
  test(`whole-network gradients of the ${net.name} on native match the cpu backend`, { skip }, async () => {
    resetNativeKernelCounts()
    const native = await gradients("wasm", net.build, net.input)
    const cpu = await gradients("cpu", net.build, net.input)
    assert.ok(Math.abs(native.loss - cpu.loss) <= 1e-4 * Math.abs(cpu.loss), `loss ${native.loss} vs ${cpu.loss}`)
    assert.deepEqual(Object.keys(native.grads).sort(), Object.keys(cpu.grads).sort())
    for (const name of Object.keys(cpu.grads)) {
      const err = relativeError(native.grads[name], cpu.grads[name])
      assert.ok(err <= 1e-4, `${name}: relative error ${err}`)
    }
    const counts = nativeKernelCounts()
    const ran = (k: string) => (counts[k]?.native ?? 0) > 0
    assert.ok(ran("Conv2D") || ran("FusedConv2D"), `no forward conv ran natively: ${JSON.stringify(counts)}`)
    for (const k of ["Conv2DBackpropInput", "Conv2DBackpropFilter", "TomoBatchNormForward", "TomoBatchNormBackward"])
      assert.ok(ran(k), `${k} did not run natively: ${JSON.stringify(counts)}`)
    for (const [k, c] of Object.entries(counts)) assert.equal(c.fallback, 0, `${k} fell back: ${c.reasons}`)
  })
}

const rankingSetup = (threads: number, seed: number) => ({
  task: { module: rankingTask, config: { width: 0.25, depth: 1, inputSize: 16, margin: 0.2 } },
  compute: { backend: "native" as const, threads },
  partitions: 2,
  optimizer: { lr: 3e-3 },
  seed
})

/** Losses and replica checksums of `steps` steps of a fresh native trainer. */
const trainRun = (threads: number, steps: number, save?: string) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const trainer = yield* makeTrainer(rankingSetup(threads, 11))
        const out: Array<{ loss: number; checksums: ReadonlyArray<number> }> = []
        for (let s = 0; s < steps; s++) {
          const r = yield* trainer.step(orderedBatch(8, 16, s))
          out.push({ loss: r.loss, checksums: r.checksums })
        }
        const counts = yield* trainer.kernelCounts()
        assert.equal(counts.length, threads, "one record per worker")
        for (const c of counts) {
          assert.ok((c.Conv2DBackpropFilter?.native ?? 0) > 0, JSON.stringify(c))
          assert.ok(
            Object.values(c).every((k) => k.fallback === 0),
            JSON.stringify(c)
          )
        }
        if (save === undefined) return { out, scores: undefined }
        yield* trainer.save(save, { architecture: "ref-resnet", width: 0.25, inputSize: 16, method: "test" })
        const probe = orderedBatch(8, 16, 9)
        const scores = yield* trainer.evaluate(probe.inputs, probe.shape)
        return { out, scores: scores.data }
      })
    )
  )

for (const threads of [1, 2]) {
  test(
    `a seeded native run is bitwise deterministic (${threads === 1 ? "1 worker × 2 kernel threads" : "2 workers × 1 kernel thread"})`,
    { skip },
    async () => {
      const a = await trainRun(threads, 4)
      const b = await trainRun(threads, 4)
      assert.deepEqual(b.out, a.out)
    }
  )
}

test(
  "a checkpoint trained on native gives the same scores on cpu, and on wasm in a process without the addon, within 1e-4",
  { skip },
  async () => {
    const dir = join(work, "checkpoint")
    const { scores } = await trainRun(2, 3, dir)
    const probe = orderedBatch(8, 16, 9)
    await tf.setBackend("cpu")
    const cpu = await Effect.runPromise(
      Effect.gen(function* () {
        const { model } = yield* loadCheckpoint(dir)
        const out = model.predict(tf.tensor4d(probe.inputs, [...probe.shape])) as tf.Tensor
        const values = (yield* Effect.promise(() => out.data())) as Float32Array
        model.dispose()
        return values
      })
    )
    assert.ok(relativeError(scores!, cpu) <= 1e-4, `cpu: relative error ${relativeError(scores!, cpu)}`)
    // A fresh process with the addon switched off: plain wasm with the project's kernels.
    const script = `
    import * as tf from "@tensorflow/tfjs-core"
    import { Effect } from "effect"
    import { initBackendAsync } from "./backend/init.ts"
    import { loadCheckpoint } from "./checkpoint/checkpoint.ts"
    const info = await initBackendAsync({ backend: "auto" }, { log: () => {} })
    const { model } = await Effect.runPromise(loadCheckpoint(${JSON.stringify(dir)}))
    const x = tf.tensor4d(new Float32Array(${JSON.stringify(Array.from(probe.inputs))}), ${JSON.stringify(probe.shape)})
    const y = Array.from(await model.predict(x).data())
    console.log(JSON.stringify({ backend: info.backend, y }))`
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      env: { ...process.env, [nativeSwitch]: "off" },
      encoding: "utf8",
      maxBuffer: 1 << 24
    })
    assert.equal(r.status, 0, r.stderr)
    const wasm = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { backend: string; y: Array<number> }
    assert.equal(wasm.backend, "wasm")
    const err = relativeError(scores!, Float32Array.from(wasm.y))
    assert.ok(err <= 1e-4, `wasm: relative error ${err}`)
  }
)
