import {
  backend_util,
  Mean,
  Sum,
  util,
  type KernelConfig,
  type KernelFunc,
  type MeanAttrs,
  type SumAttrs,
  type TensorInfo
} from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { markProjectKernel, stockKernel, view, withScratch } from "./wasm-ops.ts"

/**
 * x viewed as [outer, reduced, inner] when the reduced axes are one contiguous block (BatchNorm
 * statistics and bias gradients reduce [N,H,W] of NHWC, global pooling [H,W]); undefined otherwise.
 */
const contiguousBlock = (shape: ReadonlyArray<number>, axes: ReadonlyArray<number>) => {
  const sorted = [...axes].sort((a, b) => a - b)
  if (sorted.length === 0 || sorted.some((a, i) => a !== sorted[0] + i)) return undefined
  const first = sorted[0],
    end = sorted[sorted.length - 1] + 1
  const size = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1)
  return { outer: size(0, first), reduced: size(first, end), inner: size(end, shape.length), axes: sorted }
}

/** Longest pooling window whose float32 mean is still accurate to ~1e-7. */
const maxWindow = 1024

/**
 * The pooling window: the trailing reduced axes as long as their product stays ≤ maxWindow, or
 * else the largest divisor ≤ maxWindow of the last reduced axis.
 */
const windowOf = (shape: ReadonlyArray<number>, axes: ReadonlyArray<number>): number => {
  let window = 1
  for (let i = axes.length - 1; i >= 0 && window * shape[axes[i]] <= maxWindow; i--) window *= shape[axes[i]]
  if (window > 1) return window
  const last = shape[axes[axes.length - 1]]
  for (let d = maxWindow; d > 1; d--) if (last % d === 0) return d
  return 1
}

/**
 * Sums/means over a contiguous block of axes with XNNPACK average pooling over windows of at most
 * maxWindow elements, then adds those partial means in float64.
 * The stock kernels first transpose the reduced axes innermost (a full copy of the activation) and
 * then accumulate in float32 one element at a time; this is ~10× faster and more accurate.
 */
const reduceBlock =
  (kernel: "Sum" | "Mean") =>
  (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: SumAttrs | MeanAttrs }): TensorInfo => {
    const {
      inputs: { x },
      backend,
      attrs
    } = args
    const axes = util.parseAxisParam(attrs.axis, x.shape)
    const block = x.dtype === "float32" ? contiguousBlock(x.shape, axes) : undefined
    // Reducing the innermost axes needs no transpose, so the stock kernel is fine there.
    if (block === undefined || block.reduced === 0 || block.inner === 1) return stockKernel(kernel)(args as never) as TensorInfo
    const { outer, reduced, inner } = block
    const window = windowOf(x.shape, block.axes)
    const first = reduced / window
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, block.axes)
    const shape = attrs.keepDims ? backend_util.expandShapeToKeepDim(outShape, block.axes) : outShape
    return withScratch(backend, (s) => {
      const partial = s.run(
        "AvgPool",
        { x: view(x, [outer * first, window, 1, inner]) },
        { filterSize: [window, 1], strides: [window, 1], pad: "valid" }
      )
      const out = backend.makeOutput(shape, "float32")
      const means = backend.typedArrayFromHeap(partial) as Float32Array
      const dst = backend.typedArrayFromHeap(out) as Float32Array
      const scale = kernel === "Mean" ? 1 / first : window
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < inner; c++) {
          let acc = 0
          for (let k = 0, at = o * first * inner + c; k < first; k++, at += inner) acc += means[at]
          dst[o * inner + c] = acc * scale
        }
      }
      return out
    })
  }

export const sum = reduceBlock("Sum")
export const mean = reduceBlock("Mean")

export const sumConfig: KernelConfig = { kernelName: Sum, backendName: "wasm", kernelFunc: markProjectKernel(sum as unknown as KernelFunc) }
export const meanConfig: KernelConfig = {
  kernelName: Mean,
  backendName: "wasm",
  kernelFunc: markProjectKernel(mean as unknown as KernelFunc)
}
