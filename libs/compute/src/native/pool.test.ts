import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, onBackend, randomValues, relativeError } from "../kernels/testing.ts"
import { nativeKernelCounts, resetNativeKernelCounts } from "./index.ts"
import { filled, nativeSkip, setupNative } from "./testing.ts"

const skip = nativeSkip

before(() => setupNative())

type Case = readonly [[number, number, number, number], number | [number, number], number | [number, number], "same" | "valid"]

/** 2×2/2 (a U-Net's pool), overlapping 3×3/2, odd sizes with same padding, C = 1, batch 1, 1×1, rectangular windows. */
const cases: ReadonlyArray<Case> = [
  [[2, 8, 8, 16], 2, 2, "valid"],
  [[2, 9, 7, 3], 2, 2, "same"],
  [[2, 9, 9, 4], 3, 2, "same"],
  [[1, 7, 5, 1], 3, 1, "valid"],
  [[1, 6, 6, 2], 1, 1, "valid"],
  [[2, 10, 7, 3], [3, 2], [2, 1], "same"],
  [[3, 5, 5, 2], 5, 5, "valid"],
  [[4, 32, 32, 16], 2, 2, "valid"]
]

/** Values with ties (rounded to a few levels) and negatives: pooling before a ReLU must still get its gradient right. */
/** Values on a grid of quarters, so windows hold ties. */
const gridFilled = (shape: ReadonlyArray<number>, seed: number) => filled(shape, seed, (v) => Math.round(v * 4) / 4 - 0.5)

test(
  "native MaxPool and MaxPoolGrad match cpu (2×2/2, overlapping 3×3/2, same padding on odd sizes, ties, all-negative windows, C = 1, 1×1)",
  { skip },
  async () => {
    resetNativeKernelCounts()
    for (const [i, [shape, filter, stride, pad]] of cases.entries()) {
      const what = `[${shape}] filter ${filter} stride ${stride} ${pad}`
      const forward = () => tf.tidy(() => tf.maxPool(gridFilled(shape, i) as tf.Tensor4D, filter, stride, pad))
      const native = await onBackend("wasm", forward)
      const cpu = await onBackend("cpu", forward)
      assert.deepEqual(native.values, cpu.values, what)
      const backward = () =>
        tf.tidy(() => {
          const upstream = tf.tensor(randomValues(cpu.values.length, i + 5), cpu.shape)
          return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, filter, stride, pad), upstream)))(
            gridFilled(shape, i)
          )
        })
      const dNative = await onBackend("wasm", backward)
      const dCpu = await onBackend("cpu", backward)
      const err = relativeError(dNative.values, dCpu.values)
      assert.ok(err <= 1e-6, `${what}: gradient relative error ${err}`)
    }
    const counts = nativeKernelCounts()
    assert.deepEqual(
      [counts.MaxPool?.native, counts.MaxPool?.fallback, counts.MaxPoolGrad?.native, counts.MaxPoolGrad?.fallback],
      [2 * cases.length, 0, cases.length, 0]
    )
  }
)

test("the native max pool and its gradient leak no tensors or heap buffers", { skip }, async () => {
  await tf.setBackend("wasm")
  const x = gridFilled([2, 6, 6, 3], 1)
  const step = () => tf.dispose(tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 3, 2, "same")))(x))
  step()
  const start = liveCounts()
  for (let i = 0; i < 3; i++) step()
  assert.deepEqual(liveCounts(), start)
  x.dispose()
})
