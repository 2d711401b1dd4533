import * as tf from "@tensorflow/tfjs-core"
import { loadNative } from "@tomoprior/native"
import { initBackendAsync } from "../backend/init.ts"

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
