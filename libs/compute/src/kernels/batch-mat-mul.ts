import {
  BatchMatMul,
  broadcast_util,
  util,
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo
} from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { markProjectKernel, stockKernel, view, withScratch, type Scratch } from "./wasm-ops.ts"

/** A single matrix, stored [rows, cols], transposed by XNNPACK when asked. */
const asStored = (s: Scratch, t: TensorInfo, transpose: boolean): TensorInfo => {
  const rows = t.shape[t.shape.length - 2],
    cols = t.shape[t.shape.length - 1]
  const m = view(t, [rows, cols])
  return transpose ? s.run("Transpose", { x: m }, { perm: [1, 0] }) : m
}

/**
 * The stock kernel uses XNNPACK only for one matrix without transposes and otherwise a naive loop
 * (~0.5 GFLOP/s): dense-layer gradients (x·dyᵀ-style products) and similarity matrices z·zᵀ hit
 * it. For one matrix pair, transposing the operand explicitly (cheap, linear) and running the
 * XNNPACK path is ~50× faster. Batched products keep the stock kernel.
 */
export const batchMatMul = (args: {
  inputs: { a: TensorInfo; b: TensorInfo }
  backend: BackendWasm
  attrs: BatchMatMulAttrs
}): TensorInfo => {
  const {
    inputs: { a, b },
    backend,
    attrs: { transposeA, transposeB }
  } = args
  const single = util.sizeFromShape(a.shape.slice(0, -2)) === 1 && util.sizeFromShape(b.shape.slice(0, -2)) === 1
  if ((!transposeA && !transposeB) || !single || a.dtype !== "float32" || b.dtype !== "float32") {
    return stockKernel(BatchMatMul)(args as never) as TensorInfo
  }
  const outer = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
  return withScratch(backend, (s) => {
    const out = s.run(
      BatchMatMul,
      { a: asStored(s, a, transposeA), b: asStored(s, b, transposeB) },
      { transposeA: false, transposeB: false }
    )
    return view(s.release(out), [...outer, ...out.shape.slice(-2)])
  })
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: "wasm",
  kernelFunc: markProjectKernel(batchMatMul as unknown as KernelFunc)
}
