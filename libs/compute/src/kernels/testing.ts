import * as tf from "@tensorflow/tfjs-core"
import { initBackendAsync } from "../backend/init.ts"

/** wasm with the project kernels, plus the cpu backend as the reference. */
export const setupBackends = async (): Promise<void> => {
  await import("@tensorflow/tfjs-backend-cpu")
  await initBackendAsync({ backend: "wasm", threads: 1 }, { log: () => {} })
}

/** Runs `f` on the given backend and returns its result as a plain array (inputs are re-uploaded). */
export const onBackend = async (backend: "wasm" | "cpu", f: () => tf.Tensor): Promise<{ shape: number[]; values: Float32Array }> => {
  await tf.setBackend(backend)
  const t = f()
  const values = (await t.data()) as Float32Array
  const shape = t.shape
  t.dispose()
  return { shape, values }
}

/** Deterministic random values in [-1, 1), so failures reproduce. */
export const randomValues = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0 || 1
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    out[i] = (s >>> 0) / 2 ** 31 - 1
  }
  return out
}

/** max |a − b| / max |b|: the relative error the kernel tests bound. */
export const relativeError = (a: Float32Array, b: Float32Array): number => {
  let err = 0
  let scale = 0
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]))
    scale = Math.max(scale, Math.abs(b[i]))
  }
  return err / Math.max(scale, 1e-30)
}

/** Tensors and wasm heap buffers alive now; flat across repeated calls means no leak. */
export const liveCounts = (): { tensors: number; dataIds: number } => ({
  tensors: tf.memory().numTensors,
  dataIds: tf.engine().findBackend("wasm").numDataIds()
})
