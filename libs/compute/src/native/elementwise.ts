import {
  Abs,
  Add,
  backend_util,
  Exp,
  Log,
  Maximum,
  Minimum,
  Multiply,
  Neg,
  RealDiv,
  Relu,
  Rsqrt,
  Sigmoid,
  Softmax,
  Sqrt,
  Square,
  SquaredDifference,
  Step,
  Sub,
  util
} from "@tensorflow/tfjs-core"
import { BinaryOp, Form, UnaryOp } from "@tomoprior/native"
import { allFloat, heapOf, offsetOf, withOutputs } from "./heap.ts"
import type { NativeKernel } from "./registry.ts"

const product = (dims: ReadonlyArray<number>) => dims.reduce((a, b) => a * b, 1)

/** How `shape` (left-padded to `out`'s rank) meets `out` split into rows = out[..k], cols = out[k..]. */
const formAt = (shape: ReadonlyArray<number>, out: ReadonlyArray<number>, k: number): Form | undefined => {
  if (product(shape) === 1) return Form.scalar
  const padded = [...Array<number>(out.length - shape.length).fill(1), ...shape]
  const same = (from: number, to: number) => padded.slice(from, to).every((d, i) => d === out[from + i])
  const ones = (from: number, to: number) => padded.slice(from, to).every((d) => d === 1)
  if (same(0, out.length)) return Form.full
  if (ones(0, k) && same(k, out.length)) return Form.row
  if (same(0, k) && ones(k, out.length)) return Form.column
  return undefined
}

/**
 * tfjs' broadcast of a ∘ b as one [rows, cols] grid where each operand is full, a repeated row, a
 * repeated column or a scalar (same shapes, a bias [C] over [N, H, W, C], keepDims statistics
 * [N, H, W, 1] over [N, H, W, C], s − sᵀ), or undefined for other broadcasts.
 */
export const broadcastGrid = (
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>
):
  | { readonly out: ReadonlyArray<number>; readonly rows: number; readonly cols: number; readonly forms: readonly [Form, Form] }
  | undefined => {
  const out = backend_util.assertAndGetBroadcastShape([...a], [...b])
  for (let k = 0; k <= out.length; k++) {
    const fa = formAt(a, out, k),
      fb = formAt(b, out, k)
    if (fa !== undefined && fb !== undefined) return { out, rows: product(out.slice(0, k)), cols: product(out.slice(k)), forms: [fa, fb] }
  }
  return undefined
}

const binaryKernel = (name: string, op: BinaryOp): NativeKernel => ({
  name,
  run: (addon, { inputs: { a, b }, backend }) => {
    if (a === undefined || b === undefined || !allFloat(a, b)) return "not float32"
    const grid = broadcastGrid(a.shape, b.shape)
    if (grid === undefined) return `broadcast of [${a.shape}] and [${b.shape}]`
    return withOutputs(backend, [grid.out], ([out]) => {
      const heap = heapOf(backend)
      const [fa, fb] = grid.forms
      addon.binary(heap, op, offsetOf(backend, a), fa, offsetOf(backend, b), fb, offsetOf(backend, out), grid.rows, grid.cols)
      return out
    })
  }
})

const unaryKernel = (name: string, op: UnaryOp): NativeKernel => ({
  name,
  run: (addon, { inputs: { x }, backend, attrs }) => {
    if (x === undefined || !allFloat(x)) return "not float32"
    return withOutputs(backend, [x.shape], ([y]) => {
      addon.unary(
        heapOf(backend),
        op,
        offsetOf(backend, x),
        offsetOf(backend, y),
        util.sizeFromShape(x.shape),
        (attrs?.alpha as number | undefined) ?? 0
      )
      return y
    })
  }
})

/** Softmax over the last axis (the only axis tfjs' softmax takes). */
export const softmax: NativeKernel = {
  name: Softmax,
  run: (addon, { inputs: { logits }, backend, attrs }) => {
    if (logits === undefined || !allFloat(logits)) return "not float32"
    const dim = attrs.dim as number
    if (dim !== -1 && dim !== logits.shape.length - 1) return `softmax over axis ${dim}`
    const cols = logits.shape.at(-1)!
    return withOutputs(backend, [logits.shape], ([y]) => {
      addon.softmax(heapOf(backend), offsetOf(backend, logits), offsetOf(backend, y), util.sizeFromShape(logits.shape) / cols, cols)
      return y
    })
  }
}

/** The elementwise ops a training step makes: activations and their gradients, residual adds, the loss. */
export const elementwiseKernels: ReadonlyArray<NativeKernel> = [
  binaryKernel(Add, BinaryOp.add),
  binaryKernel(Sub, BinaryOp.sub),
  binaryKernel(Multiply, BinaryOp.mul),
  binaryKernel(RealDiv, BinaryOp.div),
  binaryKernel(Maximum, BinaryOp.maximum),
  binaryKernel(Minimum, BinaryOp.minimum),
  binaryKernel(SquaredDifference, BinaryOp.squaredDifference),
  unaryKernel(Relu, UnaryOp.relu),
  unaryKernel(Step, UnaryOp.step),
  unaryKernel(Exp, UnaryOp.exp),
  unaryKernel(Log, UnaryOp.log),
  unaryKernel(Neg, UnaryOp.neg),
  unaryKernel(Sqrt, UnaryOp.sqrt),
  unaryKernel(Rsqrt, UnaryOp.rsqrt),
  unaryKernel(Square, UnaryOp.square),
  unaryKernel(Sigmoid, UnaryOp.sigmoid),
  unaryKernel(Abs, UnaryOp.abs)
]
