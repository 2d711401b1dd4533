import { backend_util, MaxPool, MaxPoolGrad } from "@tensorflow/tfjs-core"
import type { PoolGeometry } from "@tomoprior/native"
import { allFloat, heapOf, offsetOf, withOutputs } from "./heap.ts"
import type { KernelArgs, NativeKernel } from "./registry.ts"

/** The addon's description of a tfjs max pool over `xShape`, and its output shape. */
const geometry = (xShape: ReadonlyArray<number>, attrs: KernelArgs["attrs"]): { geometry: PoolGeometry; outShape: number[] } => {
  const info = backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as backend_util.ExplicitPadding,
    attrs.dimRoundingMode as "floor" | "round" | "ceil" | undefined
  )
  return {
    geometry: [
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outHeight,
      info.outWidth,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
      info.dilationHeight,
      info.dilationWidth
    ],
    outShape: info.outShape
  }
}

/** Max pooling (any window, stride and padding). */
export const maxPool: NativeKernel = {
  name: MaxPool,
  run: (addon, { inputs: { x }, backend, attrs }) => {
    if (x === undefined || !allFloat(x)) return "not float32"
    if (x.shape.length !== 4) return `rank ${x.shape.length}`
    const g = geometry(x.shape, attrs)
    return withOutputs(backend, [g.outShape], ([y]) => {
      addon.maxPool(heapOf(backend), offsetOf(backend, x), offsetOf(backend, y), ...g.geometry)
      return y
    })
  }
}

/**
 * Its gradient for every window (overlapping too, where the wasm kernel falls back to cpu), each
 * window's dy to its first greatest element, as the cpu backend does.
 */
export const maxPoolGrad: NativeKernel = {
  name: MaxPoolGrad,
  run: (addon, { inputs: { dy, input }, backend, attrs }) => {
    if (dy === undefined || input === undefined || !allFloat(dy, input)) return "not float32"
    if (input.shape.length !== 4) return `rank ${input.shape.length}`
    const g = geometry(input.shape, attrs)
    return withOutputs(backend, [input.shape], ([dx]) => {
      addon.maxPoolGrad(heapOf(backend), offsetOf(backend, dy), offsetOf(backend, input), offsetOf(backend, dx), ...g.geometry)
      return dx
    })
  }
}
