import {
  backend_util,
  MaxPoolGrad,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type TensorInfo
} from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { markProjectKernel } from "./wasm-ops.ts"

/**
 * Routes each dy to the first maximum of its window (the cpu backend's choice, ties included), in
 * one pass over heap views. The stock wasm kernel starts its running max at FLT_MIN instead of
 * −∞, so windows whose values are all ≤ 0 lose their gradient, and it is ~10× slower.
 */
export const maxPoolGrad = (
  args: { inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo }; backend: BackendWasm; attrs: MaxPoolGradAttrs }
): TensorInfo => {
  const { inputs: { dy, input }, backend, attrs } = args
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode
  )
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info
  const { top, left } = info.padInfo
  const dx = backend.makeOutput([...input.shape], "float32")
  const x = backend.typedArrayFromHeap(input) as Float32Array
  const g = backend.typedArrayFromHeap(dy) as Float32Array
  const out = backend.typedArrayFromHeap(dx) as Float32Array
  out.fill(0)
  const best = new Float32Array(C)
  const bestAt = new Int32Array(C)
  for (let n = 0; n < batchSize; n++) {
    for (let yo = 0; yo < OH; yo++) {
      const y0 = Math.max(0, yo * sh - top)
      const y1 = Math.min(H, yo * sh - top + fh)
      for (let xo = 0; xo < OW; xo++) {
        const x0 = Math.max(0, xo * sw - left)
        const x1 = Math.min(W, xo * sw - left + fw)
        best.fill(-Infinity)
        bestAt.fill(-1)
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) {
            const base = ((n * H + yy) * W + xx) * C
            for (let c = 0; c < C; c++) {
              const v = x[base + c]
              if (v > best[c]) {
                best[c] = v
                bestAt[c] = base + c
              }
            }
          }
        }
        const gBase = ((n * OH + yo) * OW + xo) * C
        for (let c = 0; c < C; c++) if (bestAt[c] >= 0) out[bestAt[c]] += g[gBase + c]
      }
    }
  }
  return dx
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: "wasm",
  kernelFunc: markProjectKernel(maxPoolGrad as unknown as KernelFunc)
}
