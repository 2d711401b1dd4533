import {
  ResizeBilinear,
  ResizeBilinearGrad,
  ResizeNearestNeighbor,
  ResizeNearestNeighborGrad,
  type TensorInfo
} from "@tensorflow/tfjs-core"
import type { NativeAddon, ResizeGeometry } from "@tomoprior/native"
import { allFloat, heapOf, offsetOf, withOutputs } from "./heap.ts"
import type { KernelArgs, NativeKernel } from "./registry.ts"

const geometry = (images: TensorInfo, [outH, outW]: ReadonlyArray<number>, attrs: KernelArgs["attrs"]): ResizeGeometry => {
  const [batch, inH, inW, channels] = images.shape
  return [batch, inH, inW, channels, outH, outW, attrs.alignCorners ? 1 : 0, attrs.halfPixelCenters ? 1 : 0]
}

type Resize = (addon: NativeAddon) => NativeAddon["resizeNearest"]

const forward = (name: string, resize: Resize): NativeKernel => ({
  name,
  run: (addon, { inputs: { images }, backend, attrs }) => {
    if (images === undefined || !allFloat(images)) return "not float32"
    if (images.shape.length !== 4) return `rank ${images.shape.length}`
    const g = geometry(images, attrs.size as [number, number], attrs)
    return withOutputs(backend, [[g[0], g[4], g[5], g[3]]], ([y]) => {
      resize(addon).call(addon, heapOf(backend), offsetOf(backend, images), offsetOf(backend, y), ...g)
      return y
    })
  }
})

const gradient = (name: string, resize: Resize): NativeKernel => ({
  name,
  run: (addon, { inputs: { images, dy }, backend, attrs }) => {
    if (images === undefined || dy === undefined || !allFloat(images, dy)) return "not float32"
    if (images.shape.length !== 4 || dy.shape.length !== 4) return `rank ${images.shape.length}`
    const g = geometry(images, dy.shape.slice(1, 3), attrs)
    return withOutputs(backend, [images.shape], ([dx]) => {
      resize(addon).call(addon, heapOf(backend), offsetOf(backend, dy), offsetOf(backend, dx), ...g)
      return dx
    })
  }
})

/**
 * Nearest and bilinear resize of NHWC images (a U-Net's upsampling) and their gradients, for every
 * size, alignCorners and halfPixelCenters; the gradients are the exact adjoints of the forward.
 */
export const resizeKernels: ReadonlyArray<NativeKernel> = [
  forward(ResizeNearestNeighbor, (a) => a.resizeNearest),
  gradient(ResizeNearestNeighborGrad, (a) => a.resizeNearestGrad),
  forward(ResizeBilinear, (a) => a.resizeBilinear),
  gradient(ResizeBilinearGrad, (a) => a.resizeBilinearGrad)
]
