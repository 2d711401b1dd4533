import { ResizeNearestNeighbor, ResizeNearestNeighborGrad } from "@tensorflow/tfjs-core"
import { allFloat, heapOf, offsetOf, withOutputs } from "./heap.ts"
import type { NativeKernel } from "./registry.ts"

/** Nearest-neighbour resize of NHWC images (the U-Net's "nearest" upsampling), any factor and attrs. */
export const resizeNearest: NativeKernel = {
  name: ResizeNearestNeighbor,
  run: (addon, { inputs: { images }, backend, attrs }) => {
    if (images === undefined || !allFloat(images)) return "not float32"
    if (images.shape.length !== 4) return `rank ${images.shape.length}`
    const [batch, inH, inW, channels] = images.shape
    const [outH, outW] = attrs.size as [number, number]
    return withOutputs(backend, [[batch, outH, outW, channels]], ([y]) => {
      const heap = heapOf(backend)
      addon.resizeNearest(
        heap,
        offsetOf(backend, images),
        offsetOf(backend, y),
        batch,
        inH,
        inW,
        channels,
        outH,
        outW,
        attrs.alignCorners ? 1 : 0,
        attrs.halfPixelCenters ? 1 : 0
      )
      return y
    })
  }
}

/** Its gradient: every output pixel's gradient added to the input pixel it was copied from. */
export const resizeNearestGrad: NativeKernel = {
  name: ResizeNearestNeighborGrad,
  run: (addon, { inputs: { images, dy }, backend, attrs }) => {
    if (images === undefined || dy === undefined || !allFloat(images, dy)) return "not float32"
    if (images.shape.length !== 4 || dy.shape.length !== 4) return `rank ${images.shape.length}`
    const [batch, inH, inW, channels] = images.shape
    const [, outH, outW] = dy.shape
    return withOutputs(backend, [images.shape], ([dx]) => {
      const heap = heapOf(backend)
      addon.resizeNearestGrad(
        heap,
        offsetOf(backend, dy),
        offsetOf(backend, dx),
        batch,
        inH,
        inW,
        channels,
        outH,
        outW,
        attrs.alignCorners ? 1 : 0,
        attrs.halfPixelCenters ? 1 : 0
      )
      return dx
    })
  }
}
