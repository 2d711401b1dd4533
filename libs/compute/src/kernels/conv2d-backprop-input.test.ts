import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { convCases, convOutputShape, liveCounts, onBackend, randomValues, relativeError, setupBackends, type ConvCase } from "./testing.ts"

const tolerance = 1e-5

const runDX = (c: ConvCase, seed: number) => () => {
  const filterShape: [number, number, number, number] = [...c.k, c.x[3], c.co]
  const dyShape = convOutputShape(c)
  const dy = tf.tensor4d(
    randomValues(
      dyShape.reduce((a, b) => a * b),
      seed
    ),
    dyShape
  )
  const w = tf.tensor4d(
    randomValues(
      filterShape.reduce((a, b) => a * b),
      seed + 1
    ),
    filterShape
  )
  const dx = tf.engine().runKernel(
    "Conv2DBackpropInput",
    { dy, filter: w },
    {
      strides: c.stride,
      pad: c.pad,
      dataFormat: "NHWC",
      inputShape: c.x
    }
  ) as tf.Tensor
  tf.dispose([dy, w])
  return dx
}

before(setupBackends)

test("Conv2DBackpropInput matches the cpu backend (strides 1-3, same/valid/explicit, odd sizes, k 1/2/3/5)", async () => {
  for (const [i, c] of convCases.entries()) {
    const wasm = await onBackend("wasm", runDX(c, 10 * i + 3))
    const cpu = await onBackend("cpu", runDX(c, 10 * i + 3))
    assert.deepEqual(wasm.shape, cpu.shape)
    const err = relativeError(wasm.values, cpu.values)
    assert.ok(err <= tolerance, `case ${JSON.stringify(c)}: relative error ${err}`)
  }
})

test("conv2dTranspose (k2 s2 and k3 s2, the U-Net up-convs) matches cpu", async () => {
  for (const [k, pad] of [
    [2, "same"],
    [3, "same"],
    [3, "valid"]
  ] as const) {
    const run = () => {
      const x = tf.tensor4d(randomValues(2 * 5 * 6 * 8, k), [2, 5, 6, 8])
      const w = tf.tensor4d(randomValues(k * k * 4 * 8, k + 1), [k, k, 4, 8])
      const outH = pad === "same" ? 10 : 2 * 4 + k,
        outW = pad === "same" ? 12 : 2 * 5 + k
      const y = tf.conv2dTranspose(x, w, [2, outH, outW, 4], 2, pad)
      tf.dispose([x, w])
      return y
    }
    const err = relativeError((await onBackend("wasm", run)).values, (await onBackend("cpu", run)).values)
    assert.ok(err <= tolerance, `k${k} ${pad}: relative error ${err}`)
  }
})

test("Conv2DBackpropInput leaks no tensors or heap buffers", async () => {
  await tf.setBackend("wasm")
  const c = convCases[2]
  tf.dispose(runDX(c, 1)())
  const start = liveCounts()
  for (let i = 0; i < 3; i++) tf.dispose(runDX(c, i)())
  assert.deepEqual(liveCounts(), start)
})
