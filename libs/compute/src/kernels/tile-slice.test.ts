import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, onBackend, randomValues, setupBackends } from "./testing.ts"

const tensorOf = (shape: Array<number>, seed: number, dtype: "float32" | "int32" = "float32") => {
  const values = randomValues(
    shape.reduce((a, b) => a * b, 1),
    seed
  )
  return dtype === "int32"
    ? tf.tensor(
        values.map((v) => Math.round(v * 100)),
        shape,
        "int32"
      )
    : tf.tensor(values, shape)
}

/** Kernels that only move data must agree with cpu exactly. */
const assertSameOnBothBackends = async (label: string, f: () => tf.Tensor) => {
  const wasm = await onBackend("wasm", f)
  const cpu = await onBackend("cpu", f)
  assert.deepEqual(wasm.shape, cpu.shape, label)
  assert.deepEqual(wasm.values, cpu.values, label)
}

before(setupBackends)

test("Tile matches cpu: BN-style [1,1,1,C] broadcast, inner and mixed reps, int32, rank 1", async () => {
  const cases: ReadonlyArray<[Array<number>, Array<number>]> = [
    [
      [1, 1, 1, 16],
      [4, 9, 7, 1]
    ],
    [
      [2, 3, 1, 5],
      [1, 2, 3, 2]
    ],
    [
      [3, 1, 4],
      [2, 5, 1]
    ],
    [[7], [3]],
    [
      [2, 2],
      [1, 1]
    ],
    [
      [1, 3, 2, 1, 2],
      [2, 1, 2, 3, 1]
    ]
  ]
  for (const [i, [shape, reps]] of cases.entries()) {
    for (const dtype of ["float32", "int32"] as const) {
      await assertSameOnBothBackends(`${shape} × ${reps} ${dtype}`, () => {
        const x = tensorOf(shape, i + 1, dtype)
        const y = tf.tile(x, reps)
        x.dispose()
        return y
      })
    }
  }
})

test("Slice matches cpu: contiguous, strided boxes, rank 1-5, odd sizes, int32", async () => {
  const cases: ReadonlyArray<[Array<number>, Array<number>, Array<number>]> = [
    [
      [4, 5, 6, 3],
      [1, 0, 0, 0],
      [2, 5, 6, 3]
    ],
    [
      [4, 5, 6, 3],
      [0, 1, 2, 0],
      [4, 3, 3, 3]
    ],
    [
      [4, 5, 6, 3],
      [1, 2, 3, 1],
      [3, 2, 2, 1]
    ],
    [[9], [2], [5]],
    [
      [3, 7],
      [1, 2],
      [2, -1]
    ],
    [
      [2, 3, 4, 5, 6],
      [1, 0, 1, 2, 0],
      [1, 3, 2, 3, 6]
    ],
    [
      [2, 3, 130],
      [0, 1, 0],
      [2, 2, 130]
    ]
  ]
  for (const [i, [shape, begin, size]] of cases.entries()) {
    for (const dtype of ["float32", "int32"] as const) {
      await assertSameOnBothBackends(`${shape} [${begin}] [${size}] ${dtype}`, () => {
        const x = tensorOf(shape, i + 7, dtype)
        const y = tf.slice(x, begin, size)
        x.dispose()
        return y
      })
    }
  }
})

test("SplitV (the gradient of a channel concat) matches cpu", async () => {
  for (const [axis, sizes] of [
    [3, [5, 3, 8]],
    [1, [2, 5]],
    [0, [1, 1]]
  ] as const) {
    for (const part of sizes.keys()) {
      await assertSameOnBothBackends(`axis ${axis} part ${part}`, () => {
        const shape = [2, 7, 3, 16]
        shape[axis] = sizes.reduce((a, b) => a + b, 0)
        const x = tensorOf(shape, axis + 20)
        const parts = tf.split(x, [...sizes], axis)
        const keep = parts[part]
        tf.dispose([x, ...parts.filter((_, i) => i !== part)])
        return keep
      })
    }
  }
})

test("concat gradients through tf.grad on wasm match cpu (SplitV in the backward pass)", async () => {
  const run = () => {
    const a = tensorOf([2, 5, 5, 3], 31)
    const b = tensorOf([2, 5, 5, 4], 32)
    const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.concat([p, q], 3))))([a, b])
    tf.dispose([a, b, g[0]])
    return g[1]
  }
  await assertSameOnBothBackends("concat grad", run)
})

test("Tile, Slice and SplitV leak no tensors or heap buffers", async () => {
  await tf.setBackend("wasm")
  const x = tensorOf([2, 6, 5, 4], 3)
  const once = () => tf.dispose([tf.tile(x, [2, 1, 3, 1]), tf.slice(x, [0, 1, 1, 0], [2, 3, 3, 4]), ...tf.split(x, [1, 3], 3)])
  once()
  const start = liveCounts()
  for (let i = 0; i < 3; i++) once()
  assert.deepEqual(liveCounts(), start)
  x.dispose()
})
