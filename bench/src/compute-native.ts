/**
 * `tomoprior bench compute`, native section (issue 10): the oneDNN kernels against the project's
 * wasm kernels (and stock where it has one) per layer, the native matmul ceiling, and the full
 * 32×128² ref-resnet training step for SortingLoss and SimCLR on native vs wasm — and, when Debian's
 * python3-torch is installed, PyTorch-CPU on the same model and batch. Every comparison alternates
 * its contenders step by step in this one run, so machine load hits them alike.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process"
import { existsSync, rmSync } from "node:fs"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import * as tf from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { Effect, Schema } from "effect"
import { makeTrainer, medianSeconds, nativeKernelFunc, rankingTask } from "@tomoprior/compute"
import { loadNative } from "@tomoprior/native"
import type { Method, PretrainParams, TupleData } from "@tomoprior/pretrain"
import { type BenchSection, type Layer, layerName, median, record, stepFlops } from "./compute-common.ts"
import type { BenchOptions } from "./contract.ts"

/** Why the native sections cannot run here, or undefined. */
const nativeMissing = (): string | undefined => {
  const load = loadNative()
  return "unavailable" in load ? load.unavailable : undefined
}

const skipped = (options: BenchOptions, section: string, reason: string) => {
  options.log(`compute: ${section} skipped: ${reason}`)
  record(options, "skipped", 0, "", { section, reason })
}

const wasm = () => tf.backend() as BackendWasm

/** Median seconds of one kernel on fresh random operands; `call` returns its outputs. */
const timeCall = (reps: number, shapes: Record<string, ReadonlyArray<number>>, call: (inputs: Record<string, tf.Tensor>) => unknown) =>
  medianSeconds(
    reps,
    () => Object.fromEntries(Object.entries(shapes).map(([k, shape]) => [k, tf.randomUniform([...shape], -1, 1)])),
    call,
    (inputs, out) => {
      for (const t of [out].flat() as Array<tf.TensorInfo>) if (t !== undefined) wasm().disposeData(t.dataId)
      tf.dispose(Object.values(inputs))
    }
  )

/** The convolutions of a 32×128² ref-resnet step (stem, each stage's first and strided units, a projection). */
const layers = (quick: boolean): ReadonlyArray<Layer> =>
  quick
    ? [
        { b: 8, h: 128, ci: 1, co: 16, k: 3, s: 1 },
        { b: 8, h: 64, ci: 32, co: 32, k: 3, s: 1 }
      ]
    : [
        { b: 32, h: 128, ci: 1, co: 16, k: 3, s: 1 },
        { b: 32, h: 128, ci: 16, co: 16, k: 3, s: 1 },
        { b: 32, h: 128, ci: 16, co: 32, k: 3, s: 2 },
        { b: 32, h: 64, ci: 32, co: 32, k: 3, s: 1 },
        { b: 32, h: 32, ci: 64, co: 64, k: 3, s: 1 },
        { b: 32, h: 16, ci: 128, co: 128, k: 3, s: 1 },
        { b: 32, h: 128, ci: 16, co: 32, k: 1, s: 2 }
      ]

/**
 * Per layer and direction, GFLOP/s of the native kernel and of the wasm backend's registered one
 * (the project's dx/dW, stock forward), called alternately on the main thread with 1 and 2 native
 * threads; plus the stock forward conv where the project did not replace it.
 */
const kernels: BenchSection = {
  name: "native kernels",
  run: async (options) => {
    const missing = nativeMissing()
    if (missing !== undefined) return skipped(options, "native kernels", missing)
    const addon = (loadNative() as { addon: { setThreads(n: number): void } }).addon
    const reps = options.quick ? 3 : 5
    for (const l of layers(options.quick)) {
      const oh = Math.ceil(l.h / l.s)
      const flops = 2 * l.b * oh * oh * l.k * l.k * l.ci * l.co
      const shape = layerName(l)
      const conv = { strides: l.s, pad: "same", dataFormat: "NHWC", dilations: 1 }
      const x = [l.b, l.h, l.h, l.ci],
        w = [l.k, l.k, l.ci, l.co],
        dy = [l.b, oh, oh, l.co]
      const cases: ReadonlyArray<{ kernel: string; shapes: Record<string, ReadonlyArray<number>>; attrs: Record<string, unknown> }> = [
        { kernel: "Conv2D", shapes: { x, filter: w }, attrs: conv },
        { kernel: "Conv2DBackpropInput", shapes: { dy, filter: w }, attrs: { ...conv, inputShape: x } },
        { kernel: "Conv2DBackpropFilter", shapes: { x, dy }, attrs: { ...conv, filterShape: w } }
      ]
      for (const c of cases) {
        if (c.kernel === "Conv2DBackpropInput" && l.ci === 1) continue
        const native = nativeKernelFunc(c.kernel)!
        const args = (inputs: Record<string, tf.Tensor>) => ({ inputs, backend: wasm(), attrs: c.attrs as unknown as tf.NamedAttrMap })
        const seconds: Record<string, Array<number>> = { "native 1 thread": [], "native 2 threads": [], wasm: [] }
        for (let round = 0; round < 2; round++) {
          for (const threads of [1, 2]) {
            addon.setThreads(threads)
            seconds[`native ${threads} thread${threads > 1 ? "s" : ""}`].push(timeCall(reps, c.shapes, (i) => native(args(i))))
          }
          seconds.wasm.push(timeCall(reps, c.shapes, (i) => tf.engine().runKernel(c.kernel, i, c.attrs as unknown as tf.NamedAttrMap)))
        }
        for (const [impl, s] of Object.entries(seconds))
          record(options, "native_kernel_gflops", flops / Math.min(...s) / 1e9, "GFLOP/s", { kernel: c.kernel, shape, impl })
        record(options, "native_kernel_speedup_vs_wasm", Math.min(...seconds.wasm) / Math.min(...seconds["native 2 threads"]), "×", {
          kernel: c.kernel,
          shape,
          threads: 2
        })
      }
    }
    addon.setThreads(2)
  }
}

/** The native matmul ceiling (1024³, fresh operands) on 1 and 2 threads. */
const ceiling: BenchSection = {
  name: "native matmul ceiling",
  run: async (options) => {
    const missing = nativeMissing()
    if (missing !== undefined) return skipped(options, "native matmul ceiling", missing)
    const addon = (loadNative() as { addon: { setThreads(n: number): void } }).addon
    const n = 1024
    const matmul = nativeKernelFunc("BatchMatMul")!
    for (const threads of [1, 2]) {
      addon.setThreads(threads)
      const s = timeCall(options.quick ? 3 : 7, { a: [1, n, n], b: [1, n, n] }, (inputs) =>
        matmul({ inputs, backend: wasm(), attrs: { transposeA: false, transposeB: false } })
      )
      record(options, "native_matmul_gflops", (2 * n ** 3) / s / 1e9, "GFLOP/s", { n, threads })
    }
    addon.setThreads(2)
  }
}

interface Contender {
  readonly name: string
  /** One step; its wall seconds. */
  readonly step: () => Promise<number>
}

/** Wall seconds of one trainer step. */
const timedStep = (step: () => Effect.Effect<unknown, unknown>) => async () => {
  const t0 = performance.now()
  await Effect.runPromise(step())
  return (performance.now() - t0) / 1000
}

/** PyTorch-CPU on the ranking step (bench/src/torch/ref_resnet_step.py), or why not. */
const torchContender = async (batch: number, size: number, threads: number): Promise<(Contender & { close(): void }) | string> => {
  const python = "/usr/bin/python3"
  if (!existsSync(python)) return `${python} is missing`
  const script = fileURLToPath(new URL("./torch/ref_resnet_step.py", import.meta.url))
  const proc: ChildProcessWithoutNullStreams = spawn(python, [script, String(batch), String(size), "2", String(threads)], {
    // glibc's defaults mmap and page-fault fresh 32 MB+ activations every step (research/native-onednn).
    env: { ...process.env, MALLOC_MMAP_MAX_: "0", MALLOC_TRIM_THRESHOLD_: "68719476736" }
  })
  let err = ""
  proc.stderr.on("data", (d) => (err += d))
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
  const next = async () => {
    const line = await lines.next()
    if (line.done) throw new Error(`the PyTorch reference ended: ${err.trim().split("\n").at(-1) ?? "no output"}`)
    return JSON.parse(line.value) as { wall: number; ready?: boolean }
  }
  try {
    await next()
  } catch (e) {
    proc.kill()
    return /No module named 'torch'/.test(err) ? "python3-torch is not installed" : (e as Error).message
  }
  return {
    name: `pytorch ${threads} threads`,
    step: async () => {
      proc.stdin.write("step\n")
      return (await next()).wall
    },
    close: () => proc.kill()
  }
}

/** The trainers of one method (its stage's task module), on every backend / thread layout compared. */
const methodTrainers = (method: "sorting" | "simclr", slices: number, size: number) =>
  Effect.gen(function* () {
    const { phantomTupleSet } = yield* Effect.promise(() => import("@tomoprior/pretrain/testing"))
    const { openTupleSet, stepImages } = yield* Effect.promise(() => import("@tomoprior/pretrain"))
    const { readArtifactIndex } = yield* Effect.promise(() => import("@tomoprior/runner"))
    const views = method === "simclr" ? 2 : 1
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() =>
        phantomTupleSet({ volumes: 2, size, slices: 64, groupSize: slices / views, groupsPerEpoch: 2, epochs: 1, validation: 0, seed: 3 })
      ),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const data: TupleData = yield* openTupleSet(dir, yield* readArtifactIndex(dir, "TupleSet"))
    const made = yield* Effect.promise(async (): Promise<{ method: Method; params: PretrainParams }> => {
      if (method === "sorting") {
        const { PretrainSortingParams } = await import("@tomoprior/stage-pretrain-sorting")
        const { sortingMethod } = await import("@tomoprior/stage-pretrain-sorting/method")
        const params = Schema.decodeUnknownSync(PretrainSortingParams)({ inputSize: size })
        return { method: sortingMethod(params, data), params }
      }
      const { PretrainSimclrParams } = await import("@tomoprior/stage-pretrain-simclr")
      const { simclrMethod } = await import("@tomoprior/stage-pretrain-simclr/method")
      const params = Schema.decodeUnknownSync(PretrainSimclrParams)({ inputSize: size })
      return { method: simclrMethod(params, data), params }
    })
    const group = data.index.epochs[0][0]
    const batch = {
      inputs: stepImages(data, [group], size, made.params.augment, 0, 0, views),
      shape: [slices, size, size, 1] as const,
      meta: made.method.meta([group])
    }
    const trainer = (backend: "native" | "wasm", threads: number) =>
      makeTrainer({
        task: made.method.task,
        compute: { backend, threads },
        partitions: made.params.bnPartitions,
        optimizer: { lr: made.params.learningRate },
        seed: 1
      })
    return { trainer, batch }
  })

/**
 * The full training step: native (one worker with 2 OpenMP threads, and 2 workers with 1 each)
 * against wasm (2 workers, the wasm default), for SortingLoss and SimCLR, alternating step by step;
 * for SortingLoss also the ranking task's step against PyTorch when python3-torch is installed.
 */
const steps: BenchSection = {
  name: "native training step",
  run: (options) => {
    const missing = nativeMissing()
    if (missing !== undefined) return Promise.resolve(skipped(options, "native training step", missing))
    const [batchSize, size] = options.quick ? [16, 64] : [32, 128]
    const reps = options.quick ? 2 : 4
    const flops = stepFlops(batchSize, size)
    return Effect.runPromise(
      Effect.forEach(["sorting", "simclr"] as const, (method) =>
        Effect.scoped(
          Effect.gen(function* () {
            const { trainer, batch } = yield* methodTrainers(method, batchSize, size)
            const layouts = [
              { name: "native, 1 worker × 2 threads", backend: "native", threads: 1 },
              { name: "native, 2 workers × 1 thread", backend: "native", threads: 2 },
              { name: "wasm, 2 workers", backend: "wasm", threads: 2 }
            ] as const
            const contenders: Array<Contender> = []
            for (const l of layouts) {
              const t = yield* trainer(l.backend, l.threads)
              yield* t.step(batch)
              contenders.push({ name: l.name, step: timedStep(() => t.step(batch)) })
            }
            const times = yield* Effect.promise(() => alternate(contenders, reps))
            const config = { method, batch: batchSize, size, encoder: "ref-resnet width 1", reps }
            for (const c of contenders) {
              record(options, "native_section_step_s", median(times[c.name]), "s", { ...config, layout: c.name })
              record(options, "native_section_step_gflops", flops / median(times[c.name]) / 1e9, "GFLOP/s", { ...config, layout: c.name })
            }
            const best = median(times[layouts[0].name]) <= median(times[layouts[1].name]) ? layouts[0].name : layouts[1].name
            record(
              options,
              "native_layout_ratio_1x2_over_2x1",
              median(pairRatios(times[layouts[0].name], times[layouts[1].name])),
              "ratio",
              {
                ...config,
                note: "step time of 1 worker × 2 OpenMP threads over 2 workers × 1 thread (< 1: one process is faster)"
              }
            )
            const speedups = pairRatios(times[layouts[2].name], times[best])
            const prefix = method === "sorting" ? "" : "simclr_"
            record(options, `${prefix}native_step_s`, median(times[best]), "s", { ...config, layout: best })
            record(options, `${prefix}wasm_step_s`, median(times[layouts[2].name]), "s", { ...config, layout: layouts[2].name })
            record(options, `${prefix}native_speedup_vs_wasm`, median(speedups), "×", {
              ...config,
              native: best,
              from: "paired alternate steps"
            })
          })
        )
      ).pipe(Effect.andThen(Effect.promise(() => versusTorch(options, batchSize, size, reps, flops))))
    )
  }
}

/** Step ratios a[i] / b[i] of steps taken right after each other. */
const pairRatios = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.map((x, i) => x / b[i])

/** `reps` rounds, each contender one step per round in turn; seconds per contender. */
const alternate = async (contenders: ReadonlyArray<Contender>, reps: number): Promise<Record<string, Array<number>>> => {
  const out: Record<string, Array<number>> = Object.fromEntries(contenders.map((c) => [c.name, []]))
  for (let r = 0; r < reps; r++) for (const c of contenders) out[c.name].push(await c.step())
  return out
}

/**
 * The ranking task (ref-resnet + score head + pairwise hinge, the step bench/src/torch reproduces)
 * on native, alternately with PyTorch-CPU on 2 threads: our step's GFLOP/s over PyTorch's.
 */
const versusTorch = async (options: BenchOptions, batchSize: number, size: number, reps: number, flops: number) => {
  const torch = await torchContender(batchSize, size, 2)
  if (typeof torch === "string") return skipped(options, "PyTorch reference", torch)
  try {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const t = yield* makeTrainer({
            task: { module: rankingTask, config: { width: 1, depth: 1, inputSize: size, margin: 0.2 } },
            compute: { backend: "native", threads: 2 },
            partitions: 2,
            optimizer: { lr: 3e-4 },
            seed: 1
          })
          const batch = {
            inputs: new Float32Array(batchSize * size * size).map(() => Math.random()),
            shape: [batchSize, size, size, 1] as const,
            meta: { positions: Array.from({ length: batchSize }, (_, i) => i) }
          }
          yield* t.step(batch)
          yield* Effect.promise(() => torch.step())
          const ours: Contender = {
            name: "native, 2 workers × 1 thread",
            step: timedStep(() => t.step(batch))
          }
          const times = yield* Effect.promise(() => alternate([ours, torch], reps))
          const config = { task: "ranking (pairwise hinge)", batch: batchSize, size, reps, torch: "channels_last, tuned glibc malloc" }
          record(options, "ranking_native_step_s", median(times[ours.name]), "s", config)
          record(options, "pytorch_step_s", median(times[torch.name]), "s", { ...config, threads: 2 })
          record(options, "pytorch_step_gflops", flops / median(times[torch.name]) / 1e9, "GFLOP/s", config)
          record(options, "native_gflops_fraction_of_pytorch", median(pairRatios(times[torch.name], times[ours.name])), "ratio", {
            ...config,
            from: "paired alternate steps"
          })
        })
      )
    )
  } finally {
    torch.close()
  }
}

export const nativeSections: ReadonlyArray<BenchSection> = [kernels, ceiling, steps]
