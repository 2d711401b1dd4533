import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, onBackend, randomValues, relativeError, setupBackends } from "./testing.ts"

const tolerance = 1e-6

interface PoolCase {
  readonly x: [number, number, number, number]
  readonly size: number
  readonly stride: number
  readonly pad: "same" | "valid"
  /** Shift all values below zero: the windows the stock kernel gets wrong. */
  readonly negative?: boolean
}

const cases: ReadonlyArray<PoolCase> = [
  { x: [2, 8, 8, 3], size: 2, stride: 2, pad: "valid" },
  { x: [1, 9, 7, 4], size: 2, stride: 2, pad: "same" },
  { x: [2, 9, 7, 2], size: 2, stride: 2, pad: "valid" },
  { x: [2, 8, 8, 3], size: 2, stride: 2, pad: "valid", negative: true },
  { x: [1, 11, 10, 5], size: 3, stride: 2, pad: "same" },
  { x: [2, 7, 9, 3], size: 3, stride: 1, pad: "valid", negative: true },
  { x: [1, 6, 6, 1], size: 1, stride: 1, pad: "valid" }
]

/** The gradient of maxPool through tf.grad, i.e. the MaxPoolGrad kernel with real inputs. */
const poolGrad = (c: PoolCase, seed: number) => () => {
  const n = c.x.reduce((a, b) => a * b)
  const values = randomValues(n, seed).map((v) => (c.negative ? v - 2 : v))
  const x = tf.tensor4d(values, c.x)
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, c.size, c.stride, c.pad), tf.scalar(1.5))))(x)
  x.dispose()
  return g
}

before(setupBackends)

test("MaxPoolGrad matches cpu: even/odd sizes, same/valid, overlapping windows, all-negative windows", async () => {
  for (const [i, c] of cases.entries()) {
    const wasm = await onBackend("wasm", poolGrad(c, i + 1))
    const cpu = await onBackend("cpu", poolGrad(c, i + 1))
    const err = relativeError(wasm.values, cpu.values)
    assert.ok(err <= tolerance, `case ${JSON.stringify(c)}: relative error ${err}`)
  }
})

test("MaxPoolGrad routes the gradient of an all-negative window (the stock kernel drops it)", async () => {
  const g = await onBackend("wasm", () => {
    const x = tf.tensor4d([-3, -1, -2, -4], [1, 2, 2, 1])
    const out = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, "valid")))(x)
    x.dispose()
    return out
  })
  assert.deepEqual([...g.values], [0, 1, 0, 0])
})

test("MaxPoolGrad leaks no tensors or heap buffers", async () => {
  await tf.setBackend("wasm")
  tf.dispose(poolGrad(cases[1], 1)())
  const start = liveCounts()
  for (let i = 0; i < 3; i++) tf.dispose(poolGrad(cases[1], i)())
  assert.deepEqual(liveCounts(), start)
})
