import { Max, Mean, Min, Sum, util } from "@tensorflow/tfjs-core"
import { ReduceOp } from "@tomoprior/native"
import { allFloat, heapOf, offsetOf, withOutputs } from "./heap.ts"
import type { NativeKernel } from "./registry.ts"

const product = (dims: ReadonlyArray<number>) => dims.reduce((a, b) => a * b, 1)

/**
 * A reduction of `shape` over `axes` as [outer, r, inner] → [outer, inner], when the axes are one
 * contiguous block (the last axis, N·H·W of NHWC, all of them); undefined otherwise.
 */
export const reductionBlock = (
  shape: ReadonlyArray<number>,
  axes: ReadonlyArray<number>
): { readonly outer: number; readonly r: number; readonly inner: number } | undefined => {
  const sorted = [...new Set(axes)].sort((a, b) => a - b)
  if (sorted.length === 0) return { outer: product(shape), r: 1, inner: 1 }
  const first = sorted[0],
    last = sorted.at(-1)!
  if (last - first + 1 !== sorted.length) return undefined
  return { outer: product(shape.slice(0, first)), r: product(shape.slice(first, last + 1)), inner: product(shape.slice(last + 1)) }
}

const reduceKernel = (name: string, op: ReduceOp, axisAttr: "axis" | "reductionIndices"): NativeKernel => ({
  name,
  run: (addon, { inputs: { x }, backend, attrs }) => {
    if (x === undefined || !allFloat(x)) return "not float32"
    const axes = util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape)
    const block = reductionBlock(x.shape, axes)
    if (block === undefined) return `axes [${axes}] of [${x.shape}] are not contiguous`
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    const outShape = attrs.keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i))
    return withOutputs(backend, [outShape], ([out]) => {
      addon.reduce(heapOf(backend), op, offsetOf(backend, x), offsetOf(backend, out), block.outer, block.r, block.inner)
      return out
    })
  }
})

/** Sum, Mean, Max and Min over contiguous axes: losses, their gradients, statistics. */
export const reduceKernels: ReadonlyArray<NativeKernel> = [
  reduceKernel(Sum, ReduceOp.sum, "axis"),
  reduceKernel(Mean, ReduceOp.mean, "axis"),
  reduceKernel(Max, ReduceOp.max, "reductionIndices"),
  reduceKernel(Min, ReduceOp.min, "axis")
]
