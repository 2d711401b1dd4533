import * as tf from "@tensorflow/tfjs-core"
import { initBackendAsync } from "../backend/init.ts"

/** wasm with the project kernels, plus the cpu backend as the reference. */
export const setupBackends = async (): Promise<void> => {
  await import("@tensorflow/tfjs-backend-cpu")
  await initBackendAsync({ backend: "wasm" }, { log: () => {} })
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

export interface ConvCase {
  readonly x: [number, number, number, number]
  readonly k: [number, number]
  readonly co: number
  readonly stride: number | [number, number]
  readonly pad: "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]]
}

function randomConvCases(n: number, seed: number): Array<ConvCase> {
  const r = randomValues(6 * n, seed)
  const pick = (i: number, options: ReadonlyArray<number>) => options[Math.floor(((r[i] + 1) / 2) * options.length)]
  return Array.from({ length: n }, (_, c) => {
    const k = pick(6 * c, [1, 2, 3, 5])
    const stride = pick(6 * c + 1, [1, 2, 2, 3])
    const h = Math.max(k, pick(6 * c + 2, [5, 6, 7, 8, 9, 11, 12]))
    return {
      x: [pick(6 * c + 3, [1, 2, 3]), h, Math.max(k, pick(6 * c + 4, [5, 7, 8, 10])), pick(6 * c + 5, [1, 3, 4, 8])],
      k: [k, k],
      co: pick(6 * c + 5, [2, 5, 8, 3]),
      stride,
      pad: r[6 * c] > 0 ? "same" : "valid"
    }
  })
}

/** Conv layers the conv kernels are checked on: strides 1–3, same/valid/explicit, odd sizes, batch 1, k 1/2/3/5. */
export const convCases: ReadonlyArray<ConvCase> = [
  { x: [2, 9, 7, 3], k: [3, 3], co: 4, stride: 1, pad: "same" },
  { x: [1, 8, 8, 1], k: [3, 3], co: 16, stride: 1, pad: "same" },
  { x: [3, 11, 9, 5], k: [3, 3], co: 6, stride: 2, pad: "same" },
  { x: [2, 10, 10, 4], k: [3, 3], co: 8, stride: 2, pad: "valid" },
  { x: [1, 7, 9, 2], k: [5, 5], co: 3, stride: 1, pad: "valid" },
  { x: [2, 12, 12, 3], k: [5, 5], co: 4, stride: 2, pad: "same" },
  { x: [2, 8, 8, 4], k: [2, 2], co: 5, stride: 2, pad: "valid" },
  { x: [2, 9, 9, 4], k: [1, 1], co: 6, stride: 2, pad: "same" },
  { x: [1, 6, 5, 3], k: [1, 1], co: 2, stride: 1, pad: "valid" },
  {
    x: [2, 9, 8, 3],
    k: [3, 2],
    co: 4,
    stride: [2, 1],
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0]
    ]
  },
  { x: [1, 13, 13, 2], k: [3, 3], co: 3, stride: 3, pad: "same" },
  {
    x: [2, 6, 7, 2],
    k: [3, 3],
    co: 3,
    stride: 1,
    pad: [
      [0, 0],
      [3, 2],
      [0, 3],
      [0, 0]
    ]
  },
  { x: [2, 9, 6, 3], k: [2, 2], co: 4, stride: 2, pad: "same" },
  { x: [2, 9, 7, 12], k: [3, 3], co: 5, stride: 1, pad: "same" },
  { x: [1, 8, 9, 10], k: [3, 2], co: 4, stride: 1, pad: "valid" },
  {
    x: [2, 7, 7, 9],
    k: [5, 5],
    co: 3,
    stride: 1,
    pad: [
      [0, 0],
      [1, 3],
      [4, 0],
      [0, 0]
    ]
  },
  {
    x: [2, 6, 6, 9],
    k: [3, 3],
    co: 2,
    stride: 1,
    pad: [
      [0, 0],
      [3, 1],
      [0, 2],
      [0, 0]
    ]
  },
  ...randomConvCases(8, 2026)
]

export const convOutputShape = (c: ConvCase): [number, number, number, number] =>
  tf.backend_util.computeConv2DInfo(c.x, [...c.k, c.x[3], c.co], c.stride, 1, c.pad).outShape as [number, number, number, number]
