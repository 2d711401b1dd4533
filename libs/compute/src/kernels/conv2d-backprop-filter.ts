import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo
} from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { sliceBox } from "./slice.ts"
import { markProjectKernel, withScratch } from "./wasm-ops.ts"

/**
 * dW[i,j,c,o] = Σ_{n,y,x} x_pad[n, y·s+i, x·s+j, c] · dy[n,y,x,o], which the stock wasm backend
 * does not have at all. Computed as one XNNPACK conv that treats the input channels as the batch
 * and dy as a filter dilated by the stride: conv(xᵀ[ci,H,W,b], dyᵀ[oh,ow,b,co]) = dW as
 * [ci,kh,kw,co]. Any rows the stride leaves over at the bottom/right only enlarge that small
 * output, which is then cropped, instead of slicing the large x.
 */
export const conv2dBackpropFilter = (
  args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: BackendWasm; attrs: Conv2DBackpropFilterAttrs }
): TensorInfo => {
  const { inputs: { x, dy }, backend, attrs } = args
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, backend_util.convertConv2DDataFormat(attrs.dataFormat)
  )
  if (info.dataFormat !== "channelsLast") throw new Error("compute: Conv2DBackpropFilter supports NHWC only")
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: H, inWidth: W } = info
  const { top, left } = info.padInfo
  const bottom = Math.max(0, kh + (info.outHeight - 1) * sh - H - top)
  const right = Math.max(0, kw + (info.outWidth - 1) * sw - W - left)
  return withScratch(backend, (s) => {
    const xT = s.run("Transpose", { x }, { perm: [3, 1, 2, 0] })
    const dyT = s.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] })
    let dW = s.run("Conv2D", { x: xT, filter: dyT }, {
      strides: [1, 1],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dilations: [sh, sw],
      dataFormat: "NHWC"
    })
    if (dW.shape[1] !== kh || dW.shape[2] !== kw) {
      dW = s.adopt(sliceBox(backend, dW, [0, 0, 0, 0], [info.inChannels, kh, kw, info.outChannels]))
    }
    return s.release(s.run("Transpose", { x: dW }, { perm: [1, 2, 0, 3] }))
  })
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: markProjectKernel(conv2dBackpropFilter as unknown as KernelFunc)
}
