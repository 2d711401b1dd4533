import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { nativeKernelCounts, resetNativeKernelCounts } from "./index.ts"
import { compareWithCpu, filled, nativeSkip, setupNative } from "./testing.ts"

const skip = nativeSkip

before(() => setupNative())

/** [a shape, b shape, transposeA, transposeB]: plain, transposed, batched, one side broadcast, 1-wide. */
const cases: ReadonlyArray<readonly [ReadonlyArray<number>, ReadonlyArray<number>, boolean, boolean]> = [
  [[7, 5], [5, 3], false, false],
  [[7, 5], [7, 3], true, false],
  [[5, 7], [3, 7], false, true],
  [[7, 5], [3, 7], true, true],
  [[3, 6, 4], [3, 4, 9], false, false],
  [[3, 4, 6], [3, 9, 4], true, true],
  [[2, 3, 6, 4], [2, 3, 4, 5], false, false],
  [[1, 6, 4], [3, 4, 2], false, false],
  [[3, 6, 4], [4, 2], false, false],
  [[33, 1], [1, 65], false, false],
  [[64, 128], [64, 128], false, true],
  [[1, 1], [1, 1], false, false]
]

test("native BatchMatMul matches cpu (transposes, batches, a broadcast side, 1-wide)", { skip }, async () => {
  resetNativeKernelCounts()
  for (const [i, [sa, sb, ta, tb]] of cases.entries()) {
    await compareWithCpu(`${sa} · ${sb} ${ta} ${tb}`, () => tf.tidy(() => tf.matMul(filled(sa, i), filled(sb, i + 20), ta, tb)))
  }
  assert.deepEqual(nativeKernelCounts().BatchMatMul, { native: cases.length, fallback: 0, reasons: [] })
})

test("native BatchMatMul falls back (counted) for batch shapes that broadcast both ways", { skip }, async () => {
  resetNativeKernelCounts()
  await compareWithCpu("[3,1,4,5] · [1,2,5,2]", () => tf.tidy(() => tf.matMul(filled([3, 1, 4, 5], 1), filled([1, 2, 5, 2], 2))))
  assert.equal(nativeKernelCounts().BatchMatMul?.fallback, 1)
})

test("native _FusedMatMul matches cpu with bias and every fused activation (the dense layer)", { skip }, async () => {
  resetNativeKernelCounts()
  for (const [i, activation] of (["linear", "relu", "relu6", "elu", "sigmoid", "leakyrelu"] as const).entries()) {
    for (const [ta, tb] of [
      [false, false],
      [true, true]
    ]) {
      await compareWithCpu(`dense ${activation} ${ta} ${tb}`, () =>
        tf.tidy(() =>
          tf.fused.matMul({
            a: filled(ta ? [9, 6] : [6, 9], i),
            b: filled(tb ? [4, 9] : [9, 4], i + 1),
            transposeA: ta,
            transposeB: tb,
            bias: filled([4], i + 2),
            activation,
            leakyreluAlpha: 0.2
          })
        )
      )
    }
  }
  assert.equal(nativeKernelCounts()._FusedMatMul?.fallback, 0)
})

test("a dense layer's gradients (BatchMatMul with transposes) match cpu", { skip }, async () => {
  for (const which of [0, 1, 2]) {
    await compareWithCpu(`gradient ${which}`, () =>
      tf.tidy(() => {
        const grads = tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.fused.matMul({ a: x, b: w, bias: b, activation: "relu" })))
        )([filled([16, 32], 1), filled([32, 8], 2), filled([8], 3)])
        return grads[which]
      })
    )
  }
})
