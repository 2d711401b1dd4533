import assert from "node:assert/strict"
import { test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { BackendUnavailable, Compute } from "@tomoprior/core"
import { Effect } from "effect"
import { initBackend, initBackendAsync, type ModuleLoader } from "../backend/init.ts"
import { computeLayer } from "../layer.ts"
import { rankingTask } from "../parallel/tasks/index.ts"
import { orderedBatch } from "../parallel/testing/batches.ts"
import { nativeSkip } from "./testing.ts"

/** Loads everything as usual except the native kernels, as on a machine without libdnnl-dev. */
const withoutNative: ModuleLoader = (specifier) =>
  specifier === "@tomoprior/native" ? Promise.reject(new Error("Cannot find package '@tomoprior/native'")) : import(specifier)

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

test("without the native addon, auto trains on wasm: 12 real steps lower the loss, and how to get native is printed once", async () => {
  const lines: Array<string> = []
  const compute = computeLayer({ backend: "auto", threads: 2 }, { loader: withoutNative, log: (l) => lines.push(l) })
  const losses = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const c = yield* Compute
        const options = {
          task: { module: rankingTask, config: { width: 0.25, depth: 1, inputSize: 16, margin: 0.2 } },
          partitions: 2,
          optimizer: { lr: 3e-3 },
          seed: 3
        }
        const trainer = yield* c.trainer(options)
        assert.equal(trainer.backend.backend, "wasm")
        assert.match((yield* c.backend).reason, /@tomoprior\/native does not load.*using wasm/)
        const out: number[] = []
        for (let s = 0; s < 12; s++) out.push((yield* trainer.step(orderedBatch(8, 16, s % 4))).loss)
        yield* c.trainer(options)
        return out
      })
    ).pipe(Effect.provide(compute))
  )
  assert.ok(mean(losses.slice(-4)) < 0.7 * mean(losses.slice(0, 4)), `loss did not fall: ${losses.map((l) => l.toFixed(3))}`)
  const notices = lines.filter((l) => l.includes("native"))
  assert.equal(notices.length, 1, lines.join("\n"))
  assert.match(notices[0], /training runs on wasm.*apt-get install libdnnl-dev g\+\+, then npm run build -w @tomoprior\/native/)
})

test("asking for native where it is missing fails with BackendUnavailable saying how to install it", async () => {
  const error = await Effect.runPromise(Effect.flip(initBackend({ backend: "native" }, { loader: withoutNative, log: () => {} })))
  assert.ok(error instanceof BackendUnavailable)
  assert.equal(error.backend, "native")
  assert.match(error.reason, /does not load.*apt-get install libdnnl-dev g\+\+/)
})

test("auto picks the native kernels when the addon is built, and the log line names them and oneDNN", { skip: nativeSkip }, async () => {
  const lines: Array<string> = []
  const info = await initBackendAsync({ backend: "auto", threads: 1 }, { log: (l) => lines.push(l) })
  assert.equal(info.backend, "native")
  assert.equal(info.threads, 1)
  assert.equal(info.notice, undefined)
  assert.match(info.reason, /the native kernels \(oneDNN\) load/)
  assert.ok(info.nativeKernels?.includes("Conv2DBackpropFilter") && info.nativeKernels.includes("TomoBatchNormForward"))
  assert.ok(info.kernels.includes("Tile"), "the project's wasm kernels run every op native does not")
  assert.equal(tf.getBackend(), "wasm")
  assert.match(lines.join("\n"), /^compute: native \(oneDNN \d+\.\d+\.\d+, .*, OpenMP, 1 thread per worker, .*native kernels: Conv2D, /m)
})
