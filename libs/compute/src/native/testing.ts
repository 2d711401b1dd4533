import assert from "node:assert/strict"
import * as tf from "@tensorflow/tfjs-core"
import { loadNative } from "@tomoprior/native"
import { initBackendAsync } from "../backend/init.ts"
import { onBackend, randomValues, relativeError } from "../kernels/testing.ts"

const load = loadNative()

/** Why the native tests cannot run here (the addon is not built), or false. */
export const nativeSkip: string | false = "unavailable" in load ? load.unavailable : false

/**
 * The native backend (registered over wasm: `onBackend("wasm", …)` runs the native kernels) plus
 * cpu as the reference, with `threads` kernel threads.
 */
export const setupNative = async (threads = 2): Promise<void> => {
  await import("@tensorflow/tfjs-backend-cpu")
  if (nativeSkip === false) await initBackendAsync({ backend: "native", threads }, { log: () => {} })
  else await tf.ready()
}

/** A tensor of `shape` with reproducible values: `map` of values in [-1, 1) (rounded for int32). */
export const filled = (
  shape: ReadonlyArray<number>,
  seed: number,
  map: (v: number) => number = (v) => v,
  dtype: "float32" | "int32" = "float32"
): tf.Tensor => {
  const values = randomValues(
    shape.reduce((a, b) => a * b, 1),
    seed
  )
  return dtype === "int32"
    ? tf.tensor(
        Int32Array.from(values, (v) => Math.round(map(v))),
        [...shape],
        "int32"
      )
    : tf.tensor(values.map(map), [...shape])
}

/** Runs `run` on the native kernels and on the cpu backend and asserts equal shapes and values within `tolerance`. */
export const compareWithCpu = async (what: string, run: () => tf.Tensor, tolerance = 1e-5): Promise<void> => {
  const native = await onBackend("wasm", run)
  const cpu = await onBackend("cpu", run)
  assert.deepEqual(native.shape, cpu.shape, what)
  const err = relativeError(native.values, cpu.values)
  assert.ok(err <= tolerance, `${what}: relative error ${err}`)
}
