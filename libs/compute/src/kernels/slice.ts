import {
  backend_util,
  Slice,
  slice_util,
  SplitV,
  util,
  type KernelConfig,
  type KernelFunc,
  type SliceAttrs,
  type SplitVAttrs,
  type TensorInfo
} from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { markProjectKernel, withScratch } from "./wasm-ops.ts"

const minRunForSet = 64

/**
 * Copies the box [begin, begin+size) of x into a new tensor straight from heap views. The stock
 * Slice first copies the whole of x out of the heap (readSync); this reads only the box, merging
 * trailing whole dims into one contiguous run per outer index.
 */
export const sliceBox = (backend: BackendWasm, x: TensorInfo, begin: ReadonlyArray<number>, size: ReadonlyArray<number>): TensorInfo => {
  const out = backend.makeOutput([...size], x.dtype)
  const total = util.sizeFromShape([...size])
  if (total === 0) return out
  // Views only after makeOutput: a heap growth there would detach earlier ones.
  const src = backend.typedArrayFromHeap(x)
  const dst = backend.typedArrayFromHeap(out)
  const rank = x.shape.length
  if (rank === 0) {
    dst.set(src)
    return out
  }
  const strides = [...util.computeStrides(x.shape), 1]
  let d0 = rank - 1
  while (d0 > 0 && size[d0] === x.shape[d0]) d0--
  const run = size[d0] * strides[d0]
  let srcBase = begin[d0] * strides[d0]
  for (let d = 0; d < d0; d++) srcBase += begin[d] * strides[d]
  const outer = total / run
  const index = new Array<number>(d0).fill(0)
  let srcOffset = srcBase
  for (let o = 0, dstOffset = 0; o < outer; o++, dstOffset += run) {
    if (run >= minRunForSet) dst.set(src.subarray(srcOffset, srcOffset + run), dstOffset)
    else for (let i = 0; i < run; i++) dst[dstOffset + i] = src[srcOffset + i]
    for (let d = d0 - 1; d >= 0; d--) {
      srcOffset += strides[d]
      if (++index[d] < size[d]) break
      srcOffset -= size[d] * strides[d]
      index[d] = 0
    }
  }
  return out
}

const isStringTensor = (x: TensorInfo): boolean => x.dtype === "string"

const stockSlice = (backend: BackendWasm, x: TensorInfo, attrs: SliceAttrs): TensorInfo =>
  withScratch(backend, (s) => s.release(s.run(Slice, { x }, { ...attrs })))

export const slice = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: SliceAttrs }): TensorInfo => {
  const {
    inputs: { x },
    backend,
    attrs
  } = args
  if (isStringTensor(x)) return stockSlice(backend, x, attrs)
  const [begin, size] = slice_util.parseSliceParams(x, attrs.begin, attrs.size)
  return sliceBox(backend, x, begin, size)
}

export const splitV = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: SplitVAttrs }): Array<TensorInfo> => {
  const {
    inputs: { x },
    backend,
    attrs
  } = args
  const axis = util.parseAxisParam(attrs.axis, x.shape)[0]
  const sizes = backend_util.prepareSplitSize(x, attrs.numOrSizeSplits, axis)
  const begin = new Array<number>(x.shape.length).fill(0)
  return sizes.map((n) => {
    const size = [...x.shape]
    size[axis] = n
    const part = isStringTensor(x) ? stockSlice(backend, x, { begin: [...begin], size }) : sliceBox(backend, x, begin, size)
    begin[axis] += n
    return part
  })
}

export const sliceConfig: KernelConfig = {
  kernelName: Slice,
  backendName: "wasm",
  kernelFunc: markProjectKernel(slice as unknown as KernelFunc)
}

export const splitVConfig: KernelConfig = {
  kernelName: SplitV,
  backendName: "wasm",
  kernelFunc: markProjectKernel(splitV as unknown as KernelFunc)
}
