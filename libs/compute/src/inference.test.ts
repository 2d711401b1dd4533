import assert from "node:assert/strict"
import { join } from "node:path"
import { test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import * as tfl from "@tensorflow/tfjs-layers"
import { Effect } from "effect"
import { loadCheckpoint } from "./checkpoint/checkpoint.ts"
import { encoderModel } from "./inference.ts"
import { untrainedEncoder } from "./testing.ts"

const SIZE = 16

/** Slices whose values vary in x, y and slice (so every feature sees something). */
const slices = (count: number, size: number) => Float32Array.from({ length: count * size * size }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5)

/** The model's head output and the per-channel mean of its last encoder stage, computed separately in float64. */
const reference = async (dir: string, data: Float32Array, count: number) => {
  const { model } = await Effect.runPromise(loadCheckpoint(dir))
  const stage = model.getLayer("enc_stage4").output as tfl.SymbolicTensor
  const both = tfl.model({ inputs: model.inputs, outputs: [model.outputs[0], stage] })
  const [head, map] = tf.tidy(() =>
    (both.predict(tf.tensor4d(data, [count, SIZE, SIZE, 1])) as Array<tf.Tensor>).map((t) => ({ values: t.dataSync(), shape: t.shape }))
  )
  model.dispose()
  const [, h, w, c] = map.shape as [number, number, number, number]
  const pooled = Array.from({ length: count }, (_, n) => {
    const mean = new Float64Array(c)
    for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) mean[k] += map.values[(n * h * w + p) * c + k] / (h * w)
    return mean
  })
  const width = head.shape[1] as number
  return { head: Array.from({ length: count }, (_, n) => head.values.slice(n * width, (n + 1) * width)), pooled }
}

const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
  assert.equal(got.length, want.length, what)
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])), `${what}[${i}]: ${got[i]} vs ${want[i]}`)
}

for (const method of ["sorting", "simclr"]) {
  test(`encoderModel (${method}): head outputs and the encoder's pooled last-stage features per slice, no tensors left behind`, async () => {
    const encoder = await Effect.runPromise(untrainedEncoder(method, SIZE))
    const dir = join(encoder.dir, "model")
    const data = slices(3, SIZE)
    const want = await reference(dir, data, 3)
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const model = yield* encoderModel(dir, SIZE)
          assert.equal(model.outputSize, method === "sorting" ? 1 : 8)
          const before = tf.memory().numTensors
          for (let round = 0; round < 2; round++) {
            const got = yield* model.encode({ data, count: 3, height: SIZE, width: SIZE })
            assert.equal(tf.memory().numTensors, before)
            got.outputs.forEach((row, n) => close(row, want.head[n], `outputs of slice ${n}`))
            assert.equal(got.features?.length, 3)
            got.features!.forEach((row, n) => close(row, want.pooled[n], `features of slice ${n}`))
          }
        })
      )
    )
  })
}
