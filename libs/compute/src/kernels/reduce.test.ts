import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, onBackend, randomValues, relativeError, setupBackends } from "./testing.ts"

const tolerance = 1e-5

before(setupBackends)

test("Sum and Mean match cpu over contiguous and other axis sets, with and without keepDims", async () => {
  const cases: ReadonlyArray<[Array<number>, Array<number> | number]> = [
    [
      [4, 9, 7, 16],
      [0, 1, 2]
    ],
    [
      [3, 5, 6, 8],
      [1, 2]
    ],
    [[6, 10], [0]],
    [[2, 5, 7, 3], [2]],
    [
      [5, 4, 3],
      [-3, -2]
    ],
    [[4, 6, 5], [2]],
    [
      [4, 6, 5],
      [0, 2]
    ],
    [
      [3, 4, 5],
      [0, 1, 2]
    ],
    [
      [1, 1, 9, 2],
      [0, 1, 2]
    ]
  ]
  for (const [i, [shape, axis]] of cases.entries()) {
    for (const op of [tf.sum, tf.mean]) {
      for (const keepDims of [false, true]) {
        const run = () => {
          const x = tf.tensor(
            randomValues(
              shape.reduce((a, b) => a * b),
              i + 1
            ),
            shape
          )
          const y = op(x, axis, keepDims)
          x.dispose()
          return y
        }
        const wasm = await onBackend("wasm", run)
        const cpu = await onBackend("cpu", run)
        const label = `${op.name} ${shape} axis ${axis} keepDims ${keepDims}`
        assert.deepEqual(wasm.shape, cpu.shape, label)
        assert.ok(relativeError(wasm.values, cpu.values) <= tolerance, `${label}: ${relativeError(wasm.values, cpu.values)}`)
      }
    }
  }
})

test("Mean over a large batch stays accurate (the stock float32 running sum drifts)", async () => {
  const { values } = await onBackend("wasm", () => {
    const x = tf.fill([64, 128, 128, 4], 0.1)
    const m = tf.mean(x, [0, 1, 2])
    x.dispose()
    return m
  })
  for (const v of values) assert.ok(Math.abs(v - 0.1) <= 1e-6, `mean ${v}`)
})

test("Identity and same-dtype Cast share data safely; int32 Sum still works", async () => {
  await tf.setBackend("wasm")
  const x = tf.tensor([1.5, -2, 3], [3])
  const y = tf.clone(x)
  const z = tf.cast(x, "float32")
  x.dispose()
  assert.deepEqual([...(await y.data())], [1.5, -2, 3])
  assert.deepEqual([...(await z.data())], [1.5, -2, 3])
  const i = tf.cast(y, "int32")
  assert.deepEqual([...(await tf.sum(i).data())], [2])
  tf.dispose([y, z, i])
})

test("Sum, Mean, Identity and Cast leak no tensors or heap buffers", async () => {
  await tf.setBackend("wasm")
  const x = tf.tensor(randomValues(2 * 6 * 5 * 4, 9), [2, 6, 5, 4])
  const once = () => tf.dispose([tf.sum(x, [0, 1, 2]), tf.mean(x, [1, 2], true), tf.clone(x), tf.cast(x, "float32")])
  once()
  const start = liveCounts()
  for (let i = 0; i < 3; i++) once()
  assert.deepEqual(liveCounts(), start)
  x.dispose()
})
