import { createRequire } from "node:module"
import { dirname } from "node:path"
import { isMainThread } from "node:worker_threads"
import * as tf from "@tensorflow/tfjs-core"
import { BACKENDS, BackendUnavailable, type ComputeSettings } from "@tomoprior/core"
import { Effect } from "effect"
import { registerProjectKernels } from "../kernels/index.ts"

export type BackendName = ComputeSettings["backend"]
type ConcreteBackend = Exclude<BackendName, "auto">

/** What a stage records in its provenance about the compute it ran on. */
export interface BackendInfo {
  readonly backend: ConcreteBackend
  readonly requested: BackendName
  /** Why this backend: the request, or what `auto` found. */
  readonly reason: string
  /** Threads one process computes with (data-parallel workers multiply this). */
  readonly threads: number
  /** tfjs-core version. */
  readonly version: string
  /** Kernels the project registered over (or in addition to) the stock backend. */
  readonly kernels: ReadonlyArray<string>
  /** wasm only: whether the SIMD build runs (about 3× faster than the plain one). */
  readonly simd?: boolean
}

/** Loads a module by specifier; injectable so tests can pretend tfjs-node is installed. */
export type ModuleLoader = (specifier: string) => Promise<unknown>

export interface InitOptions {
  readonly loader?: ModuleLoader
  /** Environment to read TOMOPRIOR_BACKEND from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Where the one-line summary and warnings go (default: stderr on the main thread, nowhere in workers). */
  readonly log?: (line: string) => void
}

const nodePackages = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
  tensorflow: "@tensorflow/tfjs-node"
} as const

const defaultLoader: ModuleLoader = (specifier) => import(specifier)

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]

/** One line for logs: "compute: wasm (SIMD, 1 thread per worker, tfjs 4.22.0, project kernels: …)". */
export const describeBackend = (info: BackendInfo): string => {
  const threads = `${info.threads} thread${info.threads === 1 ? "" : "s"} per worker`
  switch (info.backend) {
    case "wasm":
      return `compute: wasm (${info.simd === false ? "no SIMD" : "SIMD"}, ${threads}, tfjs ${info.version}, project kernels: ${info.kernels.join(", ")})`
    case "cpu":
      return `compute: cpu (pure-JS reference backend, ~50× slower than wasm, tfjs ${info.version})`
    default:
      return `compute: ${info.backend} (${nodePackages[info.backend]}, ${threads}, tfjs ${info.version}; ${info.reason})`
  }
}

/** tfjs-node counts as available when it loads, registers its backend and computes 1 + 2. */
const tryNodeBackend = async (name: "tensorflow-gpu" | "tensorflow", loader: ModuleLoader): Promise<string | undefined> => {
  const pkg = nodePackages[name]
  try {
    await loader(pkg)
  } catch (e) {
    return `${pkg} is not installed or does not load (${errorText(e)})`
  }
  try {
    if (!(await tf.setBackend("tensorflow"))) return `${pkg} loaded but its backend did not initialize`
    const three = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0])
    return three === 3 ? undefined : `${pkg} loaded but computed 1 + 2 = ${three}`
  } catch (e) {
    return `${pkg} loaded but a test op failed (${errorText(e)})`
  }
}

const initWasm = async (): Promise<{ kernels: ReadonlyArray<string>; simd: boolean }> => {
  const wasm = await import("@tensorflow/tfjs-backend-wasm")
  // The node bundle reads the .wasm files with fs when given a directory path ending in "/".
  const dist = dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm"))
  wasm.setWasmPaths(`${dist}/`)
  if (!(await tf.setBackend("wasm"))) {
    throw new BackendUnavailable({
      backend: "wasm",
      reason: `the wasm binaries in ${dist} did not load; reinstall @tensorflow/tfjs-backend-wasm`
    })
  }
  return { kernels: registerProjectKernels(), simd: Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) }
}

const threadsOf = async (backend: ConcreteBackend): Promise<number> => {
  if (backend !== "wasm") return backend === "cpu" ? 1 : (await import("node:os")).availableParallelism()
  return (await import("@tensorflow/tfjs-backend-wasm")).getThreadsCount()
}

const resolveRequest = (settings: ComputeSettings, env: InitOptions["env"]): BackendName => {
  const fromEnv = env?.TOMOPRIOR_BACKEND
  if (settings.backend !== "auto" || fromEnv === undefined || fromEnv === "") return settings.backend
  if (!(BACKENDS as ReadonlyArray<string>).includes(fromEnv)) {
    throw new BackendUnavailable({
      backend: fromEnv,
      reason: `TOMOPRIOR_BACKEND must be one of ${BACKENDS.join(", ")}`
    })
  }
  return fromEnv as BackendName
}

/**
 * Selects and initializes the tfjs backend for this process (main thread or worker). Rejects with
 * BackendUnavailable when an explicitly requested backend cannot be used.
 */
export const initBackendAsync = async (settings: ComputeSettings, options: InitOptions = {}): Promise<BackendInfo> => {
  const loader = options.loader ?? defaultLoader
  // Worker threads of a data-parallel run would repeat the main thread's line once each.
  const log = options.log ?? (isMainThread ? (line: string) => console.error(line) : () => {})
  const requested = resolveRequest(settings, options.env ?? process.env)
  // tfjs-core's node bundle ships no gradients; the @tensorflow/tfjs bundle registers them into the
  // same (single) tfjs-core instance, which is all it is imported for.
  await import("@tensorflow/tfjs")
  const finish = async (backend: ConcreteBackend, reason: string, wasm?: { kernels: ReadonlyArray<string>; simd: boolean }) => {
    const info: BackendInfo = {
      backend,
      requested,
      reason,
      threads: await threadsOf(backend),
      version: tf.version_core,
      kernels: wasm?.kernels ?? [],
      ...(wasm === undefined ? {} : { simd: wasm.simd })
    }
    log(describeBackend(info))
    return info
  }
  switch (requested) {
    case "auto": {
      const skipped: Array<string> = []
      for (const name of ["tensorflow-gpu", "tensorflow"] as const) {
        const problem = await tryNodeBackend(name, loader)
        if (problem === undefined) return finish(name, `auto: ${nodePackages[name]} is installed and works`)
        skipped.push(problem)
      }
      return finish("wasm", `auto: ${skipped.join("; ")}; using wasm`, await initWasm())
    }
    case "tensorflow-gpu":
    case "tensorflow": {
      const problem = await tryNodeBackend(requested, loader)
      if (problem !== undefined) {
        throw new BackendUnavailable({
          backend: requested,
          reason:
            `${problem}; install it with \`npm install ${nodePackages[requested]}@4.22.0\` ` +
            `(needs internet: it downloads libtensorflow) or use compute.backend: wasm`
        })
      }
      return finish(requested, "requested")
    }
    case "wasm":
      return finish("wasm", "requested", await initWasm())
    case "cpu": {
      await import("@tensorflow/tfjs-backend-cpu")
      if (!(await tf.setBackend("cpu"))) throw new BackendUnavailable({ backend: "cpu", reason: "the cpu backend did not initialize" })
      log("compute: warning: the cpu backend is ~50× slower than wasm; it is a reference for checks, not for training")
      return finish("cpu", "requested")
    }
  }
}

/** `initBackendAsync` as an Effect; any failure is a BackendUnavailable naming what to fix. */
export const initBackend = (settings: ComputeSettings, options: InitOptions = {}): Effect.Effect<BackendInfo, BackendUnavailable> =>
  Effect.tryPromise({
    try: () => initBackendAsync(settings, options),
    catch: (e) => (e instanceof BackendUnavailable ? e : new BackendUnavailable({ backend: settings.backend, reason: errorText(e) }))
  })
