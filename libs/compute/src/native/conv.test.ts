import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { convCases, convOutputShape, liveCounts, type ConvCase } from "../kernels/testing.ts"
import { nativeKernelCounts, resetNativeKernelCounts } from "./index.ts"
import { compareWithCpu, filled, nativeSkip, setupNative } from "./testing.ts"

const skip = nativeSkip

const attrs = (c: ConvCase) => ({ strides: c.stride, pad: c.pad, dataFormat: "NHWC" as const })

/** The zoo's layers at batch 1 and 2 (stem C = 1, 3×3 stride 1/2, 1×1 projections, the score head). */
const zooCases: ReadonlyArray<ConvCase> = [
  { x: [1, 16, 16, 1], k: [3, 3], co: 16, stride: 1, pad: "same" },
  { x: [2, 16, 16, 16], k: [3, 3], co: 32, stride: 2, pad: "same" },
  { x: [2, 16, 16, 16], k: [1, 1], co: 32, stride: 2, pad: "same" },
  { x: [2, 8, 8, 32], k: [3, 3], co: 32, stride: 1, pad: "same" },
  { x: [2, 4, 4, 128], k: [1, 1], co: 1, stride: 1, pad: "valid" },
  { x: [1, 7, 5, 3], k: [3, 3], co: 2, stride: 2, pad: "same" }
]
const cases = [...convCases, ...zooCases]

before(() => setupNative())

test(
  "native Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter match cpu (strides 1-3, same/valid/explicit, odd sizes, C = 1, 1×1, batch 1)",
  { skip },
  async () => {
    resetNativeKernelCounts()
    for (const [i, c] of cases.entries()) {
      const filterShape = [...c.k, c.x[3], c.co]
      await compareWithCpu(`Conv2D ${JSON.stringify(c)}`, () =>
        tf.tidy(() => tf.conv2d(filled(c.x, i) as tf.Tensor4D, filled(filterShape, i + 1) as tf.Tensor4D, c.stride, c.pad))
      )
      await compareWithCpu(`Conv2DBackpropInput ${JSON.stringify(c)}`, () =>
        tf.tidy(
          () =>
            tf
              .engine()
              .runKernel(
                "Conv2DBackpropInput",
                { dy: filled(convOutputShape(c), i + 2), filter: filled(filterShape, i + 3) },
                { ...attrs(c), inputShape: c.x }
              ) as tf.Tensor
        )
      )
      await compareWithCpu(`Conv2DBackpropFilter ${JSON.stringify(c)}`, () =>
        tf.tidy(
          () =>
            tf
              .engine()
              .runKernel(
                "Conv2DBackpropFilter",
                { x: filled(c.x, i + 4), dy: filled(convOutputShape(c), i + 5) },
                { ...attrs(c), filterShape }
              ) as tf.Tensor
        )
      )
    }
    const counts = nativeKernelCounts()
    for (const kernel of ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"]) {
      assert.equal(counts[kernel]?.native, cases.length, kernel)
      assert.equal(counts[kernel]?.fallback, 0, `${kernel} fell back: ${counts[kernel]?.reasons}`)
    }
  }
)

test("native dilated Conv2D matches cpu (dilation 2 and 3, stride 1)", { skip }, async () => {
  resetNativeKernelCounts()
  for (const [i, [x, k, co, dilation, pad]] of (
    [
      [[2, 12, 12, 4], [3, 3], 5, 2, "same"],
      [[1, 11, 9, 3], [3, 2], 2, [3, 2], "valid"],
      [[2, 9, 9, 1], [3, 3], 4, 2, "same"]
    ] as const
  ).entries()) {
    await compareWithCpu(`dilated ${x} k${k} d${dilation}`, () =>
      tf.tidy(() =>
        tf.conv2d(filled(x, i) as tf.Tensor4D, filled([...k, x[3], co], i + 1) as tf.Tensor4D, 1, pad, "NHWC", dilation as number)
      )
    )
  }
  assert.deepEqual(nativeKernelCounts().Conv2D, { native: 3, fallback: 0, reasons: [] })
})

test("native FusedConv2D matches cpu with bias and every fused activation (prelu falls back)", { skip }, async () => {
  resetNativeKernelCounts()
  const activations = ["linear", "relu", "relu6", "elu", "sigmoid", "leakyrelu"] as const
  for (const [i, activation] of activations.entries()) {
    for (const c of [zooCases[1], convCases[2]]) {
      await compareWithCpu(`FusedConv2D ${activation} ${JSON.stringify(c)}`, () =>
        tf.tidy(() =>
          tf.fused.conv2d({
            x: filled(c.x, i) as tf.Tensor4D,
            filter: filled([...c.k, c.x[3], c.co], i + 1) as tf.Tensor4D,
            strides: c.stride,
            pad: c.pad,
            bias: filled([c.co], i + 2),
            activation,
            leakyreluAlpha: 0.3
          })
        )
      )
    }
  }
  assert.equal(nativeKernelCounts().FusedConv2D?.fallback, 0)
  const c = zooCases[3]
  await compareWithCpu("FusedConv2D prelu", () =>
    tf.tidy(() =>
      tf.fused.conv2d({
        x: filled(c.x, 1) as tf.Tensor4D,
        filter: filled([...c.k, c.x[3], c.co], 2) as tf.Tensor4D,
        strides: 1,
        pad: "same",
        activation: "prelu",
        preluActivationWeights: filled([c.co], 3)
      })
    )
  )
  assert.equal(nativeKernelCounts().FusedConv2D?.fallback, 1, "prelu is counted as a fallback")
})

test("native conv kernels leak no tensors or heap buffers", { skip }, async () => {
  await tf.setBackend("wasm")
  const c = zooCases[1]
  const round = () =>
    tf.tidy(() => {
      const x = filled(c.x, 1) as tf.Tensor4D
      const w = filled([...c.k, c.x[3], c.co], 2) as tf.Tensor4D
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same")))([x, w])
    })
  tf.dispose(round())
  const start = liveCounts()
  for (let i = 0; i < 3; i++) tf.dispose(round())
  assert.deepEqual(liveCounts(), start)
})
