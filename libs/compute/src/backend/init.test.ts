import assert from "node:assert/strict"
import { availableParallelism } from "node:os"
import { test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu"
import { BackendUnavailable } from "@tomoprior/core"
import { loadNative } from "@tomoprior/native"
import { Effect } from "effect"
import { initBackend, initBackendAsync, type ModuleLoader } from "./init.ts"

const notInstalled: ModuleLoader = (specifier) => Promise.reject(new Error(`Cannot find package '${specifier}'`))

/** Pretends @tensorflow/tfjs-node is installed: loading it registers a working 'tensorflow' backend. */
const fakeTfjsNode: ModuleLoader = async (specifier) => {
  if (specifier !== "@tensorflow/tfjs-node") return notInstalled(specifier)
  if (tf.findBackendFactory("tensorflow") === null) {
    tf.registerBackend("tensorflow", () => new MathBackendCPU())
    tf.registerKernel({ ...tf.getKernel("Add", "cpu"), backendName: "tensorflow" })
  }
  return {}
}

const quiet = { log: () => {} }

test("auto picks wasm when no tfjs-node is installed, says why, and lists the project kernels", async () => {
  const lines: Array<string> = []
  const info = await initBackendAsync({ backend: "auto" }, { loader: notInstalled, log: (l) => lines.push(l) })
  assert.equal(info.backend, "wasm")
  assert.equal(info.requested, "auto")
  assert.match(info.reason, /tfjs-node-gpu is not installed.*tfjs-node is not installed.*using wasm/)
  assert.equal(info.threads, 1)
  assert.equal(info.simd, true)
  assert.equal(info.version, tf.version_core)
  assert.ok(info.kernels.includes("Conv2DBackpropFilter"))
  assert.equal(tf.getBackend(), "wasm")
  assert.match(lines.join("\n"), /^compute: wasm \(SIMD, 1 thread per worker, tfjs 4\.22\.0, project kernels: .*Conv2DBackpropFilter/)
})

test("auto picks tfjs-node when it is installed and works", async () => {
  const info = await initBackendAsync({ backend: "auto" }, { ...quiet, loader: fakeTfjsNode })
  assert.equal(info.backend, "tensorflow")
  assert.match(info.reason, /@tensorflow\/tfjs-node is installed and works/)
  assert.equal(tf.getBackend(), "tensorflow")
})

test("an explicitly requested tfjs-node-gpu that is missing fails with BackendUnavailable and the install command", async () => {
  const error = await Effect.runPromise(Effect.flip(initBackend({ backend: "tensorflow-gpu" }, { ...quiet, loader: notInstalled })))
  assert.ok(error instanceof BackendUnavailable)
  assert.equal(error.backend, "tensorflow-gpu")
  assert.match(error.reason, /npm install @tensorflow\/tfjs-node-gpu/)
})

test("cpu is taken when asked for, with a warning that it is a reference, not for training", async () => {
  const lines: Array<string> = []
  const info = await initBackendAsync({ backend: "cpu" }, { log: (l) => lines.push(l) })
  assert.equal(info.backend, "cpu")
  assert.equal(info.summary, lines.at(-1))
  assert.match(lines.join("\n"), /50× slower/)
})

test("native started with threads 0 (a run's compute.threads default: one per core) computes on one kernel thread per core", async (t) => {
  const load = loadNative()
  if ("unavailable" in load) return t.skip(load.unavailable)
  const info = await initBackendAsync({ backend: "native", threads: 0 }, quiet)
  assert.equal(info.backend, "native")
  assert.equal(info.threads, availableParallelism())
})
