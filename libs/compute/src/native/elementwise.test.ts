import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, onBackend, relativeError } from "../kernels/testing.ts"
import { broadcastGrid } from "./elementwise.ts"
import { nativeKernelCounts, resetNativeKernelCounts } from "./index.ts"
import { filled, nativeSkip, setupNative } from "./testing.ts"

const skip = nativeSkip

before(() => setupNative())

const filledFor = (shape: ReadonlyArray<number>, seed: number, positive = false) =>
  filled(shape, seed, positive ? (v) => 0.05 + 2 * Math.abs(v) : (v) => 3 * v)

const compare = async (what: string, run: () => tf.Tensor, tolerance = 1e-6) => {
  const native = await onBackend("wasm", run)
  const cpu = await onBackend("cpu", run)
  assert.deepEqual(native.shape, cpu.shape, what)
  const err = relativeError(native.values, cpu.values)
  assert.ok(err <= tolerance, `${what}: relative error ${err}`)
}

/** Operand shapes of a step's binary ops: equal, bias, keepDims statistics, s − sᵀ, scalars, C = 1, odd and large sizes. */
const pairs: ReadonlyArray<readonly [ReadonlyArray<number>, ReadonlyArray<number>]> = [
  [
    [2, 5, 7, 3],
    [2, 5, 7, 3]
  ],
  [[2, 5, 7, 3], [3]],
  [[3], [2, 5, 7, 3]],
  [
    [1, 1, 1, 16],
    [4, 8, 8, 16]
  ],
  [
    [2, 5, 7, 1],
    [2, 5, 7, 3]
  ],
  [
    [6, 1],
    [1, 6]
  ],
  [[], [3, 9]],
  [[2, 9, 1], [1]],
  [[1], [1]],
  [
    [2, 64, 64, 16],
    [2, 64, 64, 16]
  ],
  [[2, 64, 65, 16], [16]],
  [
    [2, 64, 64, 1],
    [2, 64, 64, 16]
  ],
  [
    [4, 33, 1, 5],
    [4, 33, 1, 5]
  ]
]

const binaryOps = {
  Add: tf.add,
  Sub: tf.sub,
  Multiply: tf.mul,
  RealDiv: tf.div,
  Maximum: tf.maximum,
  Minimum: tf.minimum,
  SquaredDifference: tf.squaredDifference
} as const

test(
  "native binary ops match cpu on every broadcast a step makes (bias, keepDims, s − sᵀ, scalar, C = 1, odd, multi-chunk)",
  { skip },
  async () => {
    resetNativeKernelCounts()
    for (const [name, op] of Object.entries(binaryOps)) {
      for (const [i, [a, b]] of pairs.entries()) {
        await compare(`${name} [${a}] ∘ [${b}]`, () =>
          tf.tidy(() => op(filledFor(a, 2 * i + 1), name === "RealDiv" ? filledFor(b, 2 * i + 2, true) : filledFor(b, 2 * i + 2)))
        )
      }
      assert.equal(nativeKernelCounts()[name]?.native, pairs.length, `${name} ran natively for every pair`)
      assert.equal(nativeKernelCounts()[name]?.fallback, 0, `${name} never fell back`)
    }
  }
)

test("a broadcast outside the row/column grid falls back to wasm, counted, with the right result", { skip }, async () => {
  resetNativeKernelCounts()
  await compare("Add [2,1,3] + [1,4,1]", () => tf.tidy(() => tf.add(filledFor([2, 1, 3], 1), filledFor([1, 4, 1], 2))))
  const count = nativeKernelCounts().Add
  assert.equal(count?.fallback, 1)
  assert.deepEqual(count?.reasons, ["broadcast of [2,1,3] and [1,4,1]"])
})

test("broadcastGrid: which operand is a row, a column, a scalar", () => {
  assert.deepEqual(broadcastGrid([4, 8, 8, 16], [16]), { out: [4, 8, 8, 16], rows: 256, cols: 16, forms: [0, 1] })
  assert.deepEqual(broadcastGrid([4, 8, 8, 1], [4, 8, 8, 16]), { out: [4, 8, 8, 16], rows: 256, cols: 16, forms: [2, 0] })
  assert.deepEqual(broadcastGrid([6, 1], [1, 6]), { out: [6, 6], rows: 6, cols: 6, forms: [2, 1] })
  assert.deepEqual(broadcastGrid([], [3, 9]), { out: [3, 9], rows: 1, cols: 27, forms: [3, 0] })
  assert.equal(broadcastGrid([2, 1, 3], [1, 4, 1]), undefined)
})

const unaryOps: Readonly<Record<string, readonly [(x: tf.Tensor) => tf.Tensor, boolean]>> = {
  Relu: [tf.relu, false],
  Step: [(x) => tf.step(x, 0.25), false],
  Exp: [tf.exp, false],
  Log: [tf.log, true],
  Neg: [tf.neg, false],
  Sqrt: [tf.sqrt, true],
  Rsqrt: [tf.rsqrt, true],
  Square: [tf.square, false],
  Sigmoid: [tf.sigmoid, false],
  Abs: [tf.abs, false]
}

test("native unary ops match cpu (C = 1, odd sizes, one element, multi-chunk)", { skip }, async () => {
  resetNativeKernelCounts()
  const shapes = [[2, 5, 7, 3], [3, 9, 1], [1], [2, 64, 65, 16]]
  for (const [name, [op, positive]] of Object.entries(unaryOps)) {
    for (const [i, shape] of shapes.entries())
      await compare(`${name} [${shape}]`, () => tf.tidy(() => op(filledFor(shape, i + 7, positive))))
    assert.equal(nativeKernelCounts()[name]?.native, shapes.length, `${name} ran natively`)
  }
})

test("NaN propagates as on cpu through Relu, Step, Maximum and Minimum", { skip }, async () => {
  const x = [Number.NaN, -1, 0, 2]
  for (const [what, run] of [
    ["Relu", () => tf.relu(tf.tensor1d(x))],
    ["Step", () => tf.step(tf.tensor1d(x), 0.5)],
    ["Maximum", () => tf.maximum(tf.tensor1d(x), tf.tensor1d([0, Number.NaN, 1, 1]))],
    ["Minimum", () => tf.minimum(tf.tensor1d(x), tf.tensor1d([0, Number.NaN, 1, 1]))]
  ] as const) {
    const native = await onBackend("wasm", () => tf.tidy(run))
    const cpu = await onBackend("cpu", () => tf.tidy(run))
    assert.deepEqual([...native.values], [...cpu.values], what)
  }
})

test("native Softmax matches cpu over the last axis (3 classes, 1 column, 1 row, large shifted logits)", { skip }, async () => {
  resetNativeKernelCounts()
  for (const [i, shape] of [
    [16, 8, 8, 3],
    [5, 1],
    [1, 7],
    [2, 3, 1000],
    [2, 64, 64, 3]
  ].entries()) {
    await compare(`Softmax [${shape}]`, () => tf.tidy(() => tf.softmax(tf.add(tf.mul(filledFor(shape, i), 30), 50))))
  }
  assert.equal(nativeKernelCounts().Softmax?.native, 5)
  assert.equal(nativeKernelCounts().Softmax?.fallback, 0)
})

test("the elementwise kernels and their gradients leak no tensors or heap buffers", { skip }, async () => {
  await tf.setBackend("wasm")
  const x = filledFor([2, 6, 6, 3], 1)
  const y = filledFor([3], 2)
  const step = () => {
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.softmax(tf.relu(tf.add(tf.mul(a, b), tf.exp(a))))))([x, y])
    tf.dispose(g)
  }
  step()
  const start = liveCounts()
  for (let i = 0; i < 3; i++) step()
  assert.deepEqual(liveCounts(), start)
  tf.dispose([x, y])
})
