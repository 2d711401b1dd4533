import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, onBackend } from "../kernels/testing.ts"
import { nativeKernelCounts, resetNativeKernelCounts } from "./index.ts"
import { filled, nativeSkip, setupNative } from "./testing.ts"

const skip = nativeSkip

before(() => setupNative())

const operand = (shape: ReadonlyArray<number>, seed: number, dtype: "float32" | "int32" = "float32") =>
  filled(shape, seed, dtype === "int32" ? (v) => 100 * v : undefined, dtype)

type Case = readonly [ReadonlyArray<ReadonlyArray<number>>, number, ("float32" | "int32")?]

/** A U-Net's channel concat, other axes, three uneven pieces, C = 1, an empty piece, int32, 1-D, batch 1. */
const cases: ReadonlyArray<Case> = [
  [
    [
      [2, 8, 8, 16],
      [2, 8, 8, 16]
    ],
    3
  ],
  [
    [
      [1, 5, 7, 3],
      [1, 5, 7, 1],
      [1, 5, 7, 2]
    ],
    -1
  ],
  [
    [
      [2, 3, 4],
      [1, 3, 4]
    ],
    0
  ],
  [
    [
      [2, 3, 4],
      [2, 5, 4],
      [2, 1, 4]
    ],
    1
  ],
  [
    [
      [2, 0, 4],
      [2, 3, 4]
    ],
    1
  ],
  [[[5], [7]], 0],
  [
    [
      [3, 4, 2],
      [3, 4, 5]
    ],
    2,
    "int32"
  ],
  [
    [
      [4, 64, 64, 32],
      [4, 64, 64, 16]
    ],
    3
  ]
]

test("native Concat and SplitV match cpu (channel concat, other axes, uneven and empty pieces, C = 1, int32, 1-D)", { skip }, async () => {
  resetNativeKernelCounts()
  for (const [i, [shapes, axis, dtype]] of cases.entries()) {
    const what = `concat ${JSON.stringify(shapes)} axis ${axis} ${dtype ?? "float32"}`
    const run = () =>
      tf.tidy(() =>
        tf.concat(
          shapes.map((s, k) => operand(s, i * 10 + k, dtype)),
          axis
        )
      )
    const native = await onBackend("wasm", run)
    const cpu = await onBackend("cpu", run)
    assert.deepEqual(native.shape, cpu.shape, what)
    assert.deepEqual(native.values, cpu.values, what)
    const sizes = shapes.map((s) => s.at(axis)!)
    for (const [k, size] of sizes.entries()) {
      const piece = () =>
        tf.tidy(() =>
          tf
            .split(
              tf.concat(
                shapes.map((s, j) => operand(s, i * 10 + j, dtype)),
                axis
              ),
              sizes,
              axis
            )
            [k].clone()
        )
      const a = await onBackend("wasm", piece)
      const b = await onBackend("cpu", piece)
      assert.deepEqual([a.shape, a.values], [b.shape, b.values], `${what}: piece ${k} of size ${size}`)
    }
  }
  const counts = nativeKernelCounts()
  assert.equal(counts.Concat?.fallback, 0)
  assert.ok((counts.SplitV?.native ?? 0) > 0)
  assert.deepEqual(counts.SplitV?.reasons, ["an empty piece"])
})

test("split with an inferred size and the gradient of a channel concat, as on cpu", { skip }, async () => {
  const split = () =>
    tf.tidy(() =>
      tf.concat(
        tf.split(filled([3, 10, 6], 1), [2, -1, 3], 1).map((p, k) => tf.mul(p, k + 2)),
        1
      )
    )
  const a = await onBackend("wasm", split)
  const b = await onBackend("cpu", split)
  assert.deepEqual([a.shape, a.values], [b.shape, b.values])
  const grad = () =>
    tf.tidy(() => {
      const w = filled([2, 4, 4, 5], 7)
      return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.concat([x, tf.square(x)], 3), tf.concat([w, w], 3))))(filled([2, 4, 4, 5], 3))
    })
  const ga = await onBackend("wasm", grad)
  const gb = await onBackend("cpu", grad)
  assert.deepEqual(ga.values, gb.values)
})

test("the native Concat and SplitV leak no tensors or heap buffers", { skip }, async () => {
  await tf.setBackend("wasm")
  const x = filled([2, 6, 6, 3], 1)
  const step = () => tf.dispose(tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.concat([a, a, tf.exp(a)], 3))))(x))
  step()
  const start = liveCounts()
  for (let i = 0; i < 3; i++) step()
  assert.deepEqual(liveCounts(), start)
  x.dispose()
})
