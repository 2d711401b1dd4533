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
export const maxPoolGrad = (args: {
  inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo }
  backend: BackendWasm
  attrs: MaxPoolGradAttrs
}): TensorInfo => {
  const {
    inputs: { dy, input },
    backend,
    attrs
  } = args
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode
  )
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info
  const { top, left } = info.padInfo
  const dx = backend.makeOutput([...input.shape], "float32")
  const x = backend.typedArrayFromHeap(input) as Float32Array
  const g = backend.typedArrayFromHeap(dy) as Float32Array
  const out = backend.typedArrayFromHeap(dx) as Float32Array
  out.fill(0)
  if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && OH * 2 <= H && OW * 2 <= W) {
    pool2x2Grad(x, g, out, batchSize, H, W, C, OH, OW)
    return dx
  }
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

/** The U-Net's 2×2/2 pooling without padding: the same first-max rule, unrolled, no window bookkeeping. */
const pool2x2Grad = (
  x: Float32Array,
  g: Float32Array,
  out: Float32Array,
  batch: number,
  H: number,
  W: number,
  C: number,
  OH: number,
  OW: number
): void => {
  const row = W * C
  let gAt = 0
  for (let n = 0; n < batch; n++) {
    for (let yo = 0; yo < OH; yo++) {
      for (let xo = 0; xo < OW; xo++) {
        const a = ((n * H + 2 * yo) * W + 2 * xo) * C
        for (let c = 0; c < C; c++, gAt++) {
          let at = a + c
          let best = x[at]
          if (!(best > -Infinity)) best = -Infinity
          const p1 = at + C,
            p2 = at + row,
            p3 = at + row + C
          if (x[p1] > best) {
            best = x[p1]
            at = p1
          }
          if (x[p2] > best) {
            best = x[p2]
            at = p2
          }
          if (x[p3] > best) at = p3
          if (x[at] > -Infinity) out[at] = g[gAt]
        }
      }
    }
  }
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: "wasm",
  kernelFunc: markProjectKernel(maxPoolGrad as unknown as KernelFunc)
}
