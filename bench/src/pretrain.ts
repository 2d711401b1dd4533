/**
 * `tomoprior bench pretrain` (issue 5): SortingLoss vs SimCLR on the same ref-resnet, the same
 * distinct slices per step (B = 32) and 128² slices — time per epoch over the same set of slices,
 * peak RSS and peak tfjs bytes, and the largest batch each fits in a fixed memory budget.
 *
 * Every measurement runs in a fresh child process (the wasm heap never shrinks, so a method's peak
 * must not inherit the other's), alternating A B A B so machine load hits both alike; the ratios
 * are computed within this one run. Each child runs the stage's own task module, augmentation and
 * batching through the compute library's data-parallel trainer (2 workers, tf.profile on).
 */
import { spawn } from "node:child_process"
import { rmSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect, Schema } from "effect"
import type { Method, PretrainParams, TupleData } from "@tomoprior/pretrain"
import type { Bench, BenchOptions } from "./contract.ts"

const CHILD_FLAG = "--pretrain-bench-child"
const methods = ["sorting", "simclr"] as const
type MethodName = (typeof methods)[number]

interface ChildSpec {
  readonly method: MethodName
  readonly tuples: string
  readonly size: number
  readonly threads: number
  readonly backend: Backend
}

type Backend = "wasm" | "native"

interface ChildResult {
  readonly method: MethodName
  readonly slicesPerStep: number
  readonly steps: number
  readonly epochSeconds: number
  /** CPU seconds of the whole child (main thread and workers) over the epoch: far less sensitive to
   * other processes on the machine than wall time. */
  readonly epochCpuSeconds: number
  /** Sum over workers of each worker's peak tfjs bytes in a step. */
  readonly peakTfjsBytes: number
  readonly wasmHeapBytes: number
  readonly maxRssMb: number
}

/** Child process: one method, one epoch over the TupleSet's groups after a warm-up step. */
const child = async (spec: ChildSpec): Promise<void> => {
  const { makeTrainer } = await import("@tomoprior/compute")
  const { openTupleSet, stepImages } = await import("@tomoprior/pretrain")
  const make = async (data: TupleData): Promise<{ params: PretrainParams; method: Method }> => {
    if (spec.method === "sorting") {
      const { PretrainSortingParams } = await import("@tomoprior/stage-pretrain-sorting")
      const { sortingMethod } = await import("@tomoprior/stage-pretrain-sorting/method")
      const params = Schema.decodeUnknownSync(PretrainSortingParams)({ inputSize: spec.size })
      return { params, method: sortingMethod(params, data) }
    }
    const { PretrainSimclrParams } = await import("@tomoprior/stage-pretrain-simclr")
    const { simclrMethod } = await import("@tomoprior/stage-pretrain-simclr/method")
    const params = Schema.decodeUnknownSync(PretrainSimclrParams)({ inputSize: spec.size })
    return { params, method: simclrMethod(params, data) }
  }
  const result = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const { readArtifactIndex } = yield* Effect.promise(() => import("@tomoprior/runner"))
        const data = yield* openTupleSet(spec.tuples, yield* readArtifactIndex(spec.tuples, "TupleSet"))
        const { params, method } = yield* Effect.promise(() => make(data))
        const trainer = yield* makeTrainer({
          task: method.task,
          compute: { backend: spec.backend, threads: spec.threads },
          partitions: params.bnPartitions,
          optimizer: { lr: params.learningRate },
          seed: 0,
          profileMemory: true
        })
        const groups = data.index.epochs[0]
        const count = data.index.groupSize * method.views
        const step = (s: number) =>
          trainer.step({
            inputs: stepImages(data, [groups[s % groups.length]], spec.size, params.augment, 0, s, method.views),
            shape: [count, spec.size, spec.size, 1],
            meta: method.meta([groups[s % groups.length]])
          })
        yield* step(groups.length) // warm-up: first-call allocations and kernel set-up
        const t0 = performance.now()
        const cpu0 = process.cpuUsage()
        for (let s = 0; s < groups.length; s++) yield* step(s)
        const epochSeconds = (performance.now() - t0) / 1000
        const cpu = process.cpuUsage(cpu0)
        const epochCpuSeconds = (cpu.user + cpu.system) / 1e6
        const memory = yield* trainer.memory()
        return {
          method: spec.method,
          slicesPerStep: data.index.groupSize,
          steps: groups.length,
          epochSeconds,
          epochCpuSeconds,
          peakTfjsBytes: memory.reduce((a, m) => a + m.peakBytes, 0),
          wasmHeapBytes: memory.reduce((a, m) => a + m.wasmHeapBytes, 0),
          maxRssMb: process.resourceUsage().maxRSS / 1024
        } satisfies ChildResult
      })
    )
  )
  process.stdout.write(JSON.stringify(result) + "\n")
}

const runChild = (spec: ChildSpec): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), CHILD_FLAG, JSON.stringify(spec)], {
      // tsx resolves from the repository root, wherever the CLI was started
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = "",
      err = ""
    proc.stdout.on("data", (d) => (out += d))
    proc.stderr.on("data", (d) => (err += d))
    proc.on("close", (code) => {
      if (code !== 0) reject(new Error(`child ${spec.method} failed (${code}): ${err.slice(-2000)}`))
      else resolve(JSON.parse(out.trim().split("\n").at(-1)!) as ChildResult)
    })
  })

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
const MB = 1024 * 1024

const bench: Bench = {
  name: "pretrain",
  description: "SortingLoss vs SimCLR at equal distinct slices per step: time per epoch, peak memory, batch that fits a budget",
  // Each section is the whole comparison on that backend; native is skipped (and says why) where the addon is not built.
  sections: ["wasm", "native"],
  run: async ({ quick, emit, log, only }) => {
    for (const backend of (["wasm", "native"] as const).filter((b) => only === undefined || b.includes(only))) {
      if (backend === "native") {
        const { loadNative } = await import("@tomoprior/native")
        const load = loadNative()
        if ("unavailable" in load) {
          log(`pretrain on native skipped: ${load.unavailable}`)
          emit({ bench: "pretrain", metric: "skipped", value: 0, unit: "", config: { backend, reason: load.unavailable } })
          continue
        }
      }
      await compare({ quick, emit, log }, backend)
    }
  }
}

/** SortingLoss against SimCLR on one backend. */
const compare = async ({ quick, emit, log }: Pick<BenchOptions, "quick" | "emit" | "log">, backend: Backend): Promise<void> => {
  const { phantomTupleSet } = await import("@tomoprior/pretrain/testing")
  // --quick keeps the full step (at 64² × 16 fixed per-step costs hid the method: ratio 1.25–1.4)
  // and runs fewer of them.
  const size = 128
  const B = 32
  const small = 8
  // Native steps are ~5× shorter: 4× the steps keep an epoch long enough that a busy second on a
  // shared machine does not move the ratio by a third.
  const stepsPerEpoch = (quick ? 2 : 4) * (backend === "native" ? 4 : 1)
  const repeats = quick ? 1 : 2
  const threads = 2
  const budgetMb = 2048
  const config = { size, slicesPerStep: B, stepsPerEpoch, threads, encoder: "ref-resnet width 1", backend, partitions: 2 }
  const record = (metric: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
    emit({ bench: "pretrain", metric, value, unit, config: { ...config, ...extra } })
  const tuples = (groupSize: number) =>
    phantomTupleSet({ volumes: 2, size, slices: 64, groupSize, groupsPerEpoch: stepsPerEpoch, epochs: 1, validation: 0, seed: 3 })
  const main = await tuples(B)
  const tiny = await tuples(small)
  try {
    const runs: Record<MethodName, Array<ChildResult>> = { sorting: [], simclr: [] }
    for (let r = 0; r < repeats; r++)
      for (const method of methods) {
        log(`${method}: ${stepsPerEpoch} steps × ${B} slices at ${size}² (repeat ${r + 1}/${repeats}, fresh process)…`)
        const res = await runChild({ method, tuples: main, size, threads, backend })
        log(
          `  ${res.epochSeconds.toFixed(1)} s per epoch (${res.epochCpuSeconds.toFixed(1)} CPU s), ` +
            `peak tfjs ${(res.peakTfjsBytes / MB).toFixed(0)} MB, peak RSS ${res.maxRssMb.toFixed(0)} MB`
        )
        runs[method].push(res)
      }
    const smallRuns: Partial<Record<MethodName, ChildResult>> = {}
    for (const method of methods) {
      log(`${method}: ${small} slices per step, for the memory-per-slice fit…`)
      smallRuns[method] = await runChild({ method, tuples: tiny, size, threads, backend })
    }
    for (const method of methods) {
      const rs = runs[method]
      record("epoch_seconds", mean(rs.map((r) => r.epochSeconds)), "s", { method, repeats, each: rs.map((r) => r.epochSeconds) })
      record("epoch_cpu_seconds", mean(rs.map((r) => r.epochCpuSeconds)), "s", {
        method,
        repeats,
        each: rs.map((r) => r.epochCpuSeconds)
      })
      record("peak_tfjs_mb", mean(rs.map((r) => r.peakTfjsBytes)) / MB, "MB", { method })
      record("peak_rss_mb", mean(rs.map((r) => r.maxRssMb)), "MB", { method })
      record("wasm_heap_mb", mean(rs.map((r) => r.wasmHeapBytes)) / MB, "MB", { method })
      // Peak tfjs bytes are linear in the batch: fixed (weights, Adam, BN) + per-slice activations.
      const big = mean(rs.map((r) => r.peakTfjsBytes)) / MB
      const little = smallRuns[method]!.peakTfjsBytes / MB
      const perSlice = (big - little) / (B - small)
      const fixed = big - perSlice * B
      record("peak_tfjs_mb_per_slice", perSlice, "MB", { method, fitFrom: [small, B] })
      record("max_slices_per_step_in_budget", Math.floor((budgetMb - fixed) / perSlice), "slices", {
        method,
        budgetMb,
        fitFrom: [small, B]
      })
    }
    const ratio = (f: (r: ChildResult) => number) => mean(runs.simclr.map(f)) / mean(runs.sorting.map(f))
    record(
      "epoch_time_ratio_simclr_over_sorting",
      ratio((r) => r.epochSeconds),
      "ratio",
      { repeats }
    )
    record(
      "epoch_cpu_time_ratio_simclr_over_sorting",
      ratio((r) => r.epochCpuSeconds),
      "ratio",
      { repeats }
    )
    record(
      "peak_memory_ratio_simclr_over_sorting",
      ratio((r) => r.peakTfjsBytes),
      "ratio",
      { measure: "peak tfjs bytes" }
    )
    record(
      "peak_rss_ratio_simclr_over_sorting",
      ratio((r) => r.maxRssMb),
      "ratio"
    )
  } finally {
    for (const dir of [main, tiny]) rmSync(dir, { recursive: true, force: true })
  }
}

export default bench

if (process.argv[2] === CHILD_FLAG && process.argv[1] === fileURLToPath(import.meta.url))
  await child(JSON.parse(process.argv[3]) as ChildSpec)
