import { Tile, util, type KernelConfig, type KernelFunc, type TensorInfo, type TileAttrs } from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { markProjectKernel, withScratch } from "./wasm-ops.ts"

type Heap = Float32Array | Int32Array | Uint8Array

/**
 * Writes the first copy of each block and replicates it by doubling copyWithin (a memmove), so
 * broadcasting a [1,1,1,C] vector to a full activation — what the BatchNorm gradient does — costs
 * a few large memmoves instead of the stock kernel's per-element index arithmetic.
 */
const tileInto = (
  src: Heap,
  dst: Heap,
  shape: ReadonlyArray<number>,
  reps: ReadonlyArray<number>,
  d: number,
  srcOffset: number,
  dstOffset: number,
  srcStrides: ReadonlyArray<number>,
  outBlocks: ReadonlyArray<number>
): void => {
  const rank = shape.length
  const tileLength = shape[d] * outBlocks[d]
  if (d === rank - 1) dst.set(src.subarray(srcOffset, srcOffset + shape[d]), dstOffset)
  else
    for (let i = 0; i < shape[d]; i++) {
      tileInto(src, dst, shape, reps, d + 1, srcOffset + i * srcStrides[d], dstOffset + i * outBlocks[d], srcStrides, outBlocks)
    }
  const total = tileLength * reps[d]
  for (let filled = tileLength; filled < total; filled *= 2) {
    dst.copyWithin(dstOffset + filled, dstOffset, dstOffset + Math.min(filled, total - filled))
  }
}

export const tile = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: TileAttrs }): TensorInfo => {
  const {
    inputs: { x },
    backend,
    attrs: { reps }
  } = args
  if (x.dtype === "string" || x.shape.length === 0) {
    return withScratch(backend, (s) => s.release(s.run(Tile, { x }, { reps })))
  }
  const outShape = x.shape.map((n, i) => n * reps[i])
  const out = backend.makeOutput(outShape, x.dtype)
  if (util.sizeFromShape(outShape) === 0) return out
  const src = backend.typedArrayFromHeap(x)
  const dst = backend.typedArrayFromHeap(out)
  const srcStrides = [...util.computeStrides(x.shape), 1]
  const outBlocks = [...util.computeStrides(outShape), 1]
  tileInto(src, dst, x.shape, reps, 0, 0, 0, srcStrides, outBlocks)
  return out
}

export const tileConfig: KernelConfig = {
  kernelName: Tile,
  backendName: "wasm",
  kernelFunc: markProjectKernel(tile as unknown as KernelFunc)
}
