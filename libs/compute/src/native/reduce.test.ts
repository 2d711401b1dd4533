import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, onBackend, relativeError } from "../kernels/testing.ts"
import { nativeKernelCounts, resetNativeKernelCounts } from "./index.ts"
import { reductionBlock } from "./reduce.ts"
import { filled, nativeSkip, setupNative } from "./testing.ts"

const skip = nativeSkip

before(() => setupNative())

const filledAround2 = (shape: ReadonlyArray<number>, seed: number) => filled(shape, seed, (v) => 2 + 3 * v)

/** Reductions a step makes (softmax/CE over classes, Dice and BN sums over N·H·W, scalars) plus C = 1, odd, batch 1, multi-chunk. */
const cases: ReadonlyArray<readonly [ReadonlyArray<number>, number | number[], boolean]> = [
  [[16, 8, 8, 3], -1, true],
  [[16, 8, 8, 3], [0, 1, 2], false],
  [[2, 5, 7, 3], [1, 2], true],
  [[2, 5, 7, 3], [0, 1, 2, 3], false],
  [[1, 9, 7, 1], [0, 1, 2], false],
  [[33, 17], 0, false],
  [[5], 0, true],
  [[1], 0, false],
  [[4, 64, 64, 16], [0, 1, 2], false],
  [[300_001], 0, false],
  [[3, 70_001], 1, true]
]

const ops = { Sum: tf.sum, Mean: tf.mean, Max: tf.max, Min: tf.min } as const

test(
  "native Sum, Mean, Max and Min match cpu over contiguous axes (classes, N·H·W, all, C = 1, odd, batch 1, multi-chunk)",
  { skip },
  async () => {
    resetNativeKernelCounts()
    for (const [name, op] of Object.entries(ops)) {
      for (const [i, [shape, axis, keepDims]] of cases.entries()) {
        const what = `${name} [${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}`
        const native = await onBackend("wasm", () => tf.tidy(() => op(filledAround2(shape, i + 1), axis, keepDims)))
        const cpu = await onBackend("cpu", () => tf.tidy(() => op(filledAround2(shape, i + 1), axis, keepDims)))
        assert.deepEqual(native.shape, cpu.shape, what)
        const err = relativeError(native.values, cpu.values)
        assert.ok(err <= 1e-6, `${what}: relative error ${err}`)
      }
      assert.deepEqual([nativeKernelCounts()[name]?.native, nativeKernelCounts()[name]?.fallback], [cases.length, 0], name)
    }
  }
)

test("the sum of 2^25 ones is exact (float64 partial sums; the wasm kernel's float32 running sum is not)", { skip }, async () => {
  await tf.setBackend("wasm")
  const ones = tf.ones([2 ** 25])
  const s = tf.sum(ones)
  assert.equal(s.dataSync()[0], 2 ** 25)
  tf.dispose([ones, s])
})

test("a NaN is the max and the min, as on cpu; axes that are not contiguous fall back, counted", { skip }, async () => {
  for (const op of [tf.max, tf.min]) {
    const run = () =>
      tf.tidy(() =>
        op(
          tf.tensor2d([
            [1, Number.NaN, 3, 0],
            [2, 5, -1, 4]
          ]),
          1
        )
      )
    const native = await onBackend("wasm", run)
    const cpu = await onBackend("cpu", run)
    assert.deepEqual([...native.values], [...cpu.values])
  }
  resetNativeKernelCounts()
  const run = () => tf.tidy(() => tf.sum(filledAround2([3, 4, 5], 2), [0, 2]))
  const native = await onBackend("wasm", run)
  const cpu = await onBackend("cpu", run)
  assert.ok(relativeError(native.values, cpu.values) <= 1e-6)
  assert.deepEqual(nativeKernelCounts().Sum?.reasons, ["axes [0,2] of [3,4,5] are not contiguous"])
})

test("reductionBlock: [outer, r, inner] of contiguous axes", () => {
  assert.deepEqual(reductionBlock([4, 8, 8, 16], [0, 1, 2]), { outer: 1, r: 256, inner: 16 })
  assert.deepEqual(reductionBlock([4, 8, 8, 16], [3]), { outer: 256, r: 16, inner: 1 })
  assert.deepEqual(reductionBlock([4, 8, 8, 16], [2, 1]), { outer: 4, r: 64, inner: 16 })
  assert.equal(reductionBlock([4, 8, 8, 16], [0, 2]), undefined)
})

test("the native reductions leak no tensors or heap buffers", { skip }, async () => {
  await tf.setBackend("wasm")
  const x = filledAround2([2, 6, 6, 3], 1)
  const step = () => tf.dispose(tf.grads((a: tf.Tensor) => tf.add(tf.sum(tf.max(a, -1)), tf.mean(a, [0, 1, 2]).sum()))([x]))
  step()
  const start = liveCounts()
  for (let i = 0; i < 3; i++) step()
  assert.deepEqual(liveCounts(), start)
  x.dispose()
})
