import { createRequire } from "node:module"
import { availableParallelism } from "node:os"
import { dirname } from "node:path"
import { isMainThread } from "node:worker_threads"
import * as tf from "@tensorflow/tfjs-core"
import { type Backend, type BackendInfo, BackendUnavailable, type ConcreteBackend } from "@tomoprior/core"
import { nativeRemedy } from "@tomoprior/native"
import { Effect } from "effect"
import { registerProjectKernels } from "../kernels/index.ts"

/** Loads a module by specifier; injectable so tests can pretend tfjs-node is installed. */
export type ModuleLoader = (specifier: string) => Promise<unknown>

/** What starts a backend: the backend and, for native, the threads of this process's kernels. */
export interface BackendSettings {
  readonly backend: Backend
  /** native: threads of this process's (or worker's) kernels; default one per core. */
  readonly threads?: number
}

export interface InitOptions {
  readonly loader?: ModuleLoader
  /** Where the one-line summary and warnings go (default: stderr on the main thread, nowhere in workers). */
  readonly log?: (line: string) => void
}

/** What starting a backend found out, for BackendInfo. */
interface Started {
  readonly kernels?: ReadonlyArray<string>
  readonly simd?: boolean
  readonly library?: string
  readonly nativeKernels?: ReadonlyArray<string>
  readonly threads?: number
  /** A line worth logging (e.g. that the backend is slow). */
  readonly warning?: string
}

/**
 * One backend: how to start it in this process (resolves to a problem text when it cannot), how
 * many threads one process computes with, and how to describe it. A new backend is one entry here
 * (and its name in core's BACKENDS).
 */
interface BackendEntry {
  readonly start: (loader: ModuleLoader, settings: BackendSettings) => Promise<Started | string>
  readonly threads: () => Promise<number>
  readonly describe: (info: Omit<BackendInfo, "summary">) => string
  /** What to tell someone who asked for it by name and cannot have it. */
  readonly remedy?: string
  /** Why `auto` took it (default "using <name>"). */
  readonly found?: string
}

/** Which backends `auto` tries, in order; the first that starts wins. */
const AUTO_ORDER: ReadonlyArray<ConcreteBackend> = ["tensorflow-gpu", "tensorflow", "native", "wasm"]

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]

const threadsText = (info: { readonly threads: number }) => `${info.threads} thread${info.threads === 1 ? "" : "s"} per worker`

/** tfjs-node counts as available when it loads, registers its backend and computes 1 + 2. */
const tfjsNode = (pkg: string): BackendEntry => ({
  start: async (loader) => {
    try {
      await loader(pkg)
    } catch (e) {
      return `${pkg} is not installed or does not load (${errorText(e)})`
    }
    try {
      if (!(await tf.setBackend("tensorflow"))) return `${pkg} loaded but its backend did not initialize`
      const three = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0])
      return three === 3 ? {} : `${pkg} loaded but computed 1 + 2 = ${three}`
    } catch (e) {
      return `${pkg} loaded but a test op failed (${errorText(e)})`
    }
  },
  threads: async () => availableParallelism(),
  describe: (info) => `compute: ${info.backend} (${pkg}, ${threadsText(info)}, tfjs ${info.version}; ${info.reason})`,
  found: `${pkg} is installed and works`,
  remedy: `install it with \`npm install ${pkg}@4.22.0\` (needs internet: it downloads libtensorflow) or use compute.backend: wasm`
})

/** The wasm backend with the project's kernels: the wasm entry, and what native builds on. */
const startWasm = async (): Promise<Started | string> => {
  const wasm = await import("@tensorflow/tfjs-backend-wasm")
  // The node bundle reads the .wasm files with fs when given a directory path ending in "/".
  const dist = dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm"))
  wasm.setWasmPaths(`${dist}/`)
  if (!(await tf.setBackend("wasm"))) return `the wasm binaries in ${dist} did not load; reinstall @tensorflow/tfjs-backend-wasm`
  return { kernels: registerProjectKernels(), simd: Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) }
}

const BACKEND_TABLE: Readonly<Record<ConcreteBackend, BackendEntry>> = {
  "tensorflow-gpu": tfjsNode("@tensorflow/tfjs-node-gpu"),
  tensorflow: tfjsNode("@tensorflow/tfjs-node"),
  // The wasm backend with its hot kernels replaced by the addon's, which work in place on the wasm
  // heap: tensors, checkpoints and every other op stay the wasm backend's.
  native: {
    start: async (loader, settings) => {
      let native: typeof import("@tomoprior/native")
      try {
        native = (await loader("@tomoprior/native")) as typeof import("@tomoprior/native")
      } catch (e) {
        return `@tomoprior/native does not load (${errorText(e)})`
      }
      const load = native.loadNative()
      if ("unavailable" in load) return load.unavailable
      const wasm = await startWasm()
      if (typeof wasm === "string") return wasm
      // 0 is a run's "one per core" (ComputeSettings), as much as an unset count
      const threads = settings.threads !== undefined && settings.threads > 0 ? settings.threads : availableParallelism()
      load.addon.setThreads(threads)
      const about = load.addon.about()
      const { registerNative } = await import("../native/index.ts")
      return {
        ...wasm,
        nativeKernels: registerNative(load.addon),
        library: `oneDNN ${about.onednn}, ${about.isa}, ${about.runtime}`,
        threads
      }
    },
    threads: async () => availableParallelism(),
    describe: (info) =>
      `compute: native (${info.library}, ${threadsText(info)}, tfjs ${info.version}; native kernels: ` +
      `${(info.nativeKernels ?? []).join(", ")}; every other op on wasm)`,
    found: "the native kernels (oneDNN) load",
    remedy: nativeRemedy
  },
  wasm: {
    start: startWasm,
    threads: async () => (await import("@tensorflow/tfjs-backend-wasm")).getThreadsCount(),
    describe: (info) =>
      `compute: wasm (${info.simd === false ? "no SIMD" : "SIMD"}, ${threadsText(info)}, tfjs ${info.version}, ` +
      `project kernels: ${info.kernels.join(", ")})`
  },
  cpu: {
    start: async () => {
      await import("@tensorflow/tfjs-backend-cpu")
      if (!(await tf.setBackend("cpu"))) return "the cpu backend did not initialize"
      return { warning: "compute: warning: the cpu backend is ~50× slower than wasm; it is a reference for checks, not for training" }
    },
    threads: async () => 1,
    describe: (info) => `compute: cpu (pure-JS reference backend, ~50× slower than wasm, tfjs ${info.version})`
  }
}

/**
 * Selects and initializes the tfjs backend for this process (main thread or worker). `auto` takes
 * the first of AUTO_ORDER that starts; a backend asked for by name that cannot start rejects with
 * BackendUnavailable saying what to do. Settings come resolved (the CLI read the environment).
 */
export const initBackendAsync = async (settings: BackendSettings, options: InitOptions = {}): Promise<BackendInfo> => {
  const loader = options.loader ?? ((specifier: string) => import(specifier))
  // Worker threads of a data-parallel run would repeat the main thread's line once each.
  const log = options.log ?? (isMainThread ? (line: string) => console.error(line) : () => {})
  const requested: Backend = settings.backend
  // tfjs-core's node bundle ships no gradients; the @tensorflow/tfjs bundle registers them into the
  // same (single) tfjs-core instance, which is all it is imported for.
  await import("@tensorflow/tfjs")
  const finish = async (backend: ConcreteBackend, reason: string, started: Started, notice?: string): Promise<BackendInfo> => {
    const entry = BACKEND_TABLE[backend]
    const facts = {
      backend,
      requested,
      reason,
      threads: started.threads ?? (await entry.threads()),
      version: tf.version_core,
      kernels: started.kernels ?? [],
      ...(started.simd === undefined ? {} : { simd: started.simd }),
      ...(started.library === undefined ? {} : { library: started.library }),
      ...(started.nativeKernels === undefined ? {} : { nativeKernels: started.nativeKernels }),
      ...(notice === undefined ? {} : { notice })
    }
    if (started.warning) log(started.warning)
    const info = { ...facts, summary: entry.describe(facts) }
    log(info.summary)
    return info
  }
  if (requested !== "auto") {
    const started = await BACKEND_TABLE[requested].start(loader, settings)
    if (typeof started !== "string") return finish(requested, "requested", started)
    const remedy = BACKEND_TABLE[requested].remedy
    throw new BackendUnavailable({ backend: requested, reason: remedy ? `${started}; ${remedy}` : started })
  }
  const skipped: Array<string> = []
  let withoutNative: string | undefined
  for (const name of AUTO_ORDER) {
    const started = await BACKEND_TABLE[name].start(loader, settings)
    if (typeof started !== "string") {
      const notice =
        withoutNative === undefined
          ? undefined
          : `compute: training runs on ${name}, several times slower than the native kernels (${withoutNative}); ` +
            `for native CPU speed: ${BACKEND_TABLE.native.remedy}`
      return finish(name, `auto: ${[...skipped, BACKEND_TABLE[name].found ?? `using ${name}`].join("; ")}`, started, notice)
    }
    if (name === "native") withoutNative = started
    skipped.push(started)
  }
  throw new BackendUnavailable({ backend: "auto", reason: skipped.join("; ") })
}

/** `initBackendAsync` as an Effect; any failure is a BackendUnavailable naming what to fix. */
export const initBackend = (settings: BackendSettings, options: InitOptions = {}): Effect.Effect<BackendInfo, BackendUnavailable> =>
  Effect.tryPromise({
    try: () => initBackendAsync(settings, options),
    catch: (e) => (e instanceof BackendUnavailable ? e : new BackendUnavailable({ backend: settings.backend, reason: errorText(e) }))
  })
