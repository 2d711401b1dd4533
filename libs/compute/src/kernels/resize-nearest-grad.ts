import {
  ResizeNearestNeighborGrad,
  type KernelConfig,
  type KernelFunc,
  type ResizeNearestNeighborGradAttrs,
  type TensorInfo
} from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { markProjectKernel, stockKernel, withScratch } from "./wasm-ops.ts"

/**
 * Gradient of an integer-factor nearest-neighbour upsampling (the U-Net's "nearest" decoder): each
 * input pixel received one f×g block of the output, so its gradient is that block's sum, i.e. an
 * XNNPACK f×g/f×g average pool times f·g. The stock kernel is a generic loop ~13× slower than the
 * forward resize. Without alignCorners, source = floor(y/f) with or without half-pixel centers.
 */
export const resizeNearestNeighborGrad = (args: {
  inputs: { images: TensorInfo; dy: TensorInfo }
  backend: BackendWasm
  attrs: ResizeNearestNeighborGradAttrs
}): TensorInfo => {
  const {
    inputs: { images, dy },
    backend,
    attrs
  } = args
  const [, H, W] = images.shape
  const [, outH, outW] = dy.shape
  const f = outH / H,
    g = outW / W
  if (attrs.alignCorners || !Number.isInteger(f) || !Number.isInteger(g) || dy.dtype !== "float32" || f * g === 1) {
    return stockKernel(ResizeNearestNeighborGrad)(args as never) as TensorInfo
  }
  return withScratch(backend, (s) => {
    const dx = s.release(s.run("AvgPool", { x: dy }, { filterSize: [f, g], strides: [f, g], pad: "valid" }))
    const values = backend.typedArrayFromHeap(dx) as Float32Array
    const area = f * g
    for (let i = 0; i < values.length; i++) values[i] *= area
    return dx
  })
}

export const resizeNearestNeighborGradConfig: KernelConfig = {
  kernelName: ResizeNearestNeighborGrad,
  backendName: "wasm",
  kernelFunc: markProjectKernel(resizeNearestNeighborGrad as unknown as KernelFunc)
}
