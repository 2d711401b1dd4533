import { util, type DataType, type TensorInfo } from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"

/**
 * Native kernels read and write tfjs tensors where the wasm backend keeps them: at their byte
 * offset in the wasm memory. The memory's ArrayBuffer is replaced when the heap grows (any
 * allocation may grow it), so a kernel allocates its outputs first and reads the buffer after.
 */
export const heapOf = (backend: BackendWasm): ArrayBuffer =>
  (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer

/** Byte offset of a tensor's data in the wasm heap. */
export const offsetOf = (backend: BackendWasm, t: TensorInfo): number => backend.dataIdMap.get(t.dataId)!.memoryOffset

/** Float32 tensors with at least one element: what every native kernel takes. */
export const allFloat = (...ts: ReadonlyArray<TensorInfo>): boolean =>
  ts.every((t) => t.dtype === "float32" && util.sizeFromShape(t.shape) > 0)

/**
 * Allocates `shapes` on the heap and runs `body` on them; if `body` throws, frees them again (the
 * caller may fall back to another kernel) and rethrows.
 */
export const withOutputs = <A>(
  backend: BackendWasm,
  shapes: ReadonlyArray<ReadonlyArray<number>>,
  body: (outputs: ReadonlyArray<TensorInfo>) => A,
  dtype: DataType = "float32"
): A => {
  const outputs = shapes.map((s) => backend.makeOutput([...s], dtype))
  try {
    return body(outputs)
  } catch (e) {
    for (const o of outputs) backend.disposeData(o.dataId)
    throw e
  }
}
