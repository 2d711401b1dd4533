import { backend_util, Concat, SplitV, util, type TensorInfo } from "@tensorflow/tfjs-core"
import { heapOf, offsetOf, withOutputs } from "./heap.ts"
import type { NativeKernel } from "./registry.ts"

/** Element types the row copies move (4 bytes each on the wasm heap). */
const copyable = (ts: ReadonlyArray<TensorInfo>) => ts.every((t) => t.dtype === "float32" || t.dtype === "int32")

const product = (dims: ReadonlyArray<number>) => dims.reduce((a, b) => a * b, 1)

/**
 * Concatenation along any axis: the output as [outer, Σ inner], each input's [outer, inner] rows
 * copied into its column block (a U-Net's concatenated skips; wasm copies element by element).
 */
export const concat: NativeKernel = {
  name: Concat,
  run: (addon, { inputs, backend, attrs }) => {
    const all = (Array.isArray(inputs) ? inputs : Object.values(inputs)) as TensorInfo[]
    if (all.length === 0 || !copyable(all) || new Set(all.map((t) => t.dtype)).size !== 1) return "not float32 or int32 throughout"
    const axis = util.parseAxisParam(attrs.axis as number, all[0].shape)[0]
    const outShape = backend_util.computeOutShape(
      all.map((t) => t.shape),
      axis
    )
    const parts = all.filter((t) => util.sizeFromShape(t.shape) > 0)
    if (util.sizeFromShape(outShape) === 0) return "empty output"
    const outer = product(outShape.slice(0, axis)),
      width = product(outShape.slice(axis))
    return withOutputs(
      backend,
      [outShape],
      ([out]) => {
        const heap = heapOf(backend)
        let column = 0
        for (const t of parts) {
          const inner = product(t.shape.slice(axis))
          addon.copyRows(heap, offsetOf(backend, t), offsetOf(backend, out) + 4 * column, outer, inner, inner, width)
          column += inner
        }
        return out
      },
      all[0].dtype
    )
  }
}

/** Its inverse and gradient: each piece's column block of the [outer, Σ inner] rows. */
export const splitV: NativeKernel = {
  name: SplitV,
  run: (addon, { inputs: { x }, backend, attrs }) => {
    if (x === undefined || !copyable([x]) || util.sizeFromShape(x.shape) === 0) return "not a non-empty float32 or int32 tensor"
    const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0]
    const sizes = backend_util.prepareSplitSize(x, attrs.numOrSizeSplits as number | number[], axis)
    if (sizes.some((s) => s === 0)) return "an empty piece"
    const shapes = sizes.map((s) => x.shape.map((d, i) => (i === axis ? s : d)))
    const outer = product(x.shape.slice(0, axis)),
      width = product(x.shape.slice(axis))
    return withOutputs(
      backend,
      shapes,
      (pieces) => {
        const heap = heapOf(backend)
        let column = 0
        for (const piece of pieces) {
          const inner = product(piece.shape.slice(axis))
          addon.copyRows(heap, offsetOf(backend, x) + 4 * column, offsetOf(backend, piece), outer, inner, width, inner)
          column += inner
        }
        return pieces
      },
      x.dtype
    )
  }
}
