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
import { markProjectKernel, view, withScratch } from "./wasm-ops.ts"

type ConvInfo = backend_util.Conv2DInfo

/**
 * Largest transposed patch matrix (elements) built in JS for the patch-matmul form; beyond it the
 * JS gather costs more than the conv form loses.
 */
const maxPatchElements = 1 << 23

/**
 * Patch-matmul form, for few taps × input channels (the stem conv, 1×1 projections): gather the
 * transposed im2col matrix Pᵀ[(i,j,c), (n,y,x)] = x_pad[n, y·s+i, x·s+j, c] in JS with sequential
 * writes, then one matmul Pᵀ·dy = dW as [kh·kw·ci, co], already in filter order. The conv form
 * would run these as a conv with only ci·kh·kw output pixels, streaming all of dy for every few.
 */
const patchMatmul = (backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo =>
  withScratch(backend, (s) => {
    const { batchSize: b, inHeight: H, inWidth: W, inChannels: ci, outHeight: oh, outWidth: ow } = info
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info
    const { top, left } = info.padInfo
    const K = b * oh * ow
    const patches = s.alloc([1, kh * kw * ci, K])
    const src = backend.typedArrayFromHeap(x) as Float32Array
    const dst = backend.typedArrayFromHeap(patches) as Float32Array
    let at = 0
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // Output columns whose input column xo·sw − left + j lies inside the image.
        const xoFirst = Math.max(0, Math.ceil((left - j) / sw))
        const xoEnd = Math.min(ow, Math.floor((W - 1 + left - j) / sw) + 1)
        for (let c = 0; c < ci; c++) {
          for (let n = 0; n < b; n++) {
            for (let yo = 0; yo < oh; yo++) {
              const yi = yo * sh - top + i
              if (yi < 0 || yi >= H || xoEnd <= xoFirst) {
                dst.fill(0, at, at + ow)
                at += ow
                continue
              }
              let xo = 0
              for (; xo < xoFirst; xo++) dst[at++] = 0
              const from = ((n * H + yi) * W + xoFirst * sw - left + j) * ci + c
              const step = sw * ci
              if (step === 1) {
                // The stem conv (one channel, stride 1): each row is one contiguous run.
                dst.set(src.subarray(from, from + xoEnd - xoFirst), at)
                at += xoEnd - xoFirst
                xo = xoEnd
              } else {
                for (let f = from; xo < xoEnd; xo++, f += step) dst[at++] = src[f]
              }
              for (; xo < ow; xo++) dst[at++] = 0
            }
          }
        }
      }
    }
    const dW = s.run("BatchMatMul", { a: patches, b: view(dy, [1, K, info.outChannels]) }, { transposeA: false, transposeB: false })
    return view(s.release(dW), [kh, kw, ci, info.outChannels])
  })

/**
 * Conv form: one XNNPACK conv that treats the input channels as the batch and dy as a filter
 * dilated by the stride: conv(xᵀ[ci,H,W,b], dyᵀ[oh,ow,b,co]) = dW as [ci,kh,kw,co]. Any rows the
 * stride leaves over at the bottom/right only enlarge that small output, which is then cropped,
 * instead of slicing the large x.
 */
const dyAsFilter = (backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo => {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: H, inWidth: W } = info
  const { top, left } = info.padInfo
  const bottom = Math.max(0, kh + (info.outHeight - 1) * sh - H - top)
  const right = Math.max(0, kw + (info.outWidth - 1) * sw - W - left)
  return withScratch(backend, (s) => {
    const xT = s.run("Transpose", { x }, { perm: [3, 1, 2, 0] })
    const dyT = s.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] })
    let dW = s.run(
      "Conv2D",
      { x: xT, filter: dyT },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0]
        ],
        dilations: [sh, sw],
        dataFormat: "NHWC"
      }
    )
    if (dW.shape[1] !== kh || dW.shape[2] !== kw) {
      dW = s.adopt(sliceBox(backend, dW, [0, 0, 0, 0], [info.inChannels, kh, kw, info.outChannels]))
    }
    return s.release(s.run("Transpose", { x: dW }, { perm: [1, 2, 0, 3] }))
  })
}

/**
 * dW[i,j,c,o] = Σ_{n,y,x} x_pad[n, y·s+i, x·s+j, c] · dy[n,y,x,o], which the stock wasm backend
 * does not have at all.
 */
export const conv2dBackpropFilter = (args: {
  inputs: { x: TensorInfo; dy: TensorInfo }
  backend: BackendWasm
  attrs: Conv2DBackpropFilterAttrs
}): TensorInfo => {
  const {
    inputs: { x, dy },
    backend,
    attrs
  } = args
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat)
  )
  if (info.dataFormat !== "channelsLast") throw new Error("compute: Conv2DBackpropFilter supports NHWC only")
  const taps = info.filterHeight * info.filterWidth * info.inChannels
  const patchElements = taps * info.batchSize * info.outHeight * info.outWidth
  const fewTaps = taps <= 36 || info.filterHeight * info.filterWidth === 1
  return fewTaps && patchElements <= maxPatchElements ? patchMatmul(backend, x, dy, info) : dyAsFilter(backend, x, dy, info)
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: markProjectKernel(conv2dBackpropFilter as unknown as KernelFunc)
}
