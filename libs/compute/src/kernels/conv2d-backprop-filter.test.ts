import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import {
  convCases as cases,
  convOutputShape as outputShape,
  liveCounts,
  onBackend,
  randomValues,
  relativeError,
  setupBackends,
  type ConvCase as Case
} from "./testing.ts"

const tolerance = 1e-5

const runDW = (c: Case, seed: number) => () => {
  const x = tf.tensor4d(
    randomValues(
      c.x.reduce((a, b) => a * b),
      seed
    ),
    c.x
  )
  const dyShape = outputShape(c)
  const dy = tf.tensor4d(
    randomValues(
      dyShape.reduce((a, b) => a * b),
      seed + 1
    ),
    dyShape
  )
  const dW = tf.engine().runKernel(
    "Conv2DBackpropFilter",
    { x, dy },
    {
      strides: c.stride,
      pad: c.pad,
      dataFormat: "NHWC",
      filterShape: [...c.k, c.x[3], c.co]
    }
  ) as tf.Tensor
  x.dispose()
  dy.dispose()
  return dW
}

before(setupBackends)

test("Conv2DBackpropFilter matches the cpu backend (strides 1-3, same/valid/explicit, odd sizes, k 1/2/3/5)", async () => {
  for (const [i, c] of cases.entries()) {
    const wasm = await onBackend("wasm", runDW(c, 10 * i + 1))
    const cpu = await onBackend("cpu", runDW(c, 10 * i + 1))
    assert.deepEqual(wasm.shape, cpu.shape)
    const err = relativeError(wasm.values, cpu.values)
    assert.ok(err <= tolerance, `case ${JSON.stringify(c)}: relative error ${err}`)
  }
})

test("conv2d gradients through tf.grads on wasm match cpu", async () => {
  const grads = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "same"))))
  const run = (which: 0 | 1) => () => {
    const x = tf.tensor4d(randomValues(2 * 9 * 7 * 3, 5), [2, 9, 7, 3])
    const w = tf.tensor4d(randomValues(3 * 3 * 3 * 4, 6), [3, 3, 3, 4])
    const g = grads([x, w])
    tf.dispose([x, w, g[1 - which]])
    return g[which]
  }
  for (const which of [0, 1] as const) {
    const err = relativeError((await onBackend("wasm", run(which))).values, (await onBackend("cpu", run(which))).values)
    assert.ok(err <= tolerance, `gradient ${which}: relative error ${err}`)
  }
})

test("Conv2DBackpropFilter leaks no tensors or heap buffers (every form)", async () => {
  await tf.setBackend("wasm")
  for (const c of cases) {
    tf.dispose(runDW(c, 1)())
    const start = liveCounts()
    for (let i = 0; i < 2; i++) tf.dispose(runDW(c, i)())
    assert.deepEqual(liveCounts(), start, JSON.stringify(c))
  }
})
