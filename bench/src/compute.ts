/**
 * `tomoprior bench compute` (DESIGN.md §10, issue 4): the wasm matmul ceiling on one core and on
 * two workers, our wasm training kernels against the stock ones, and (sections added by the models
 * work) the training step of ref-resnet on cpu / wasm 1 thread / 2 workers; native (oneDNN) against
 * wasm and PyTorch in compute-native.ts.
 *
 * run() is a list of sections run in order on one wasm backend. To add one, write a `BenchSection`
 * and append it to `sections` below; use `record()` so every row has the same shape.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { Effect } from "effect"
import {
  makeTrainer,
  rankingTask,
  segmentationTask,
  initBackendAsync,
  matmulGflops,
  medianSeconds,
  parallelMatmulGflops,
  stockKernel
} from "@tomoprior/compute"
import { type BenchSection, type Layer, layerName, median, record, stepFlops } from "./compute-common.ts"
import { nativeSections } from "./compute-native.ts"
import type { Bench } from "./contract.ts"

const matmulSize = 1024

/** The single-thread wasm matmul ceiling, fresh operands every repetition. */
const matmulOneThread: BenchSection = {
  name: "matmul, 1 thread",
  run: async (options) => {
    const value = matmulGflops(matmulSize, options.quick ? 3 : 7)
    record(options, "matmul_gflops", value, "GFLOP/s", { threads: 1, backend: "wasm", n: matmulSize })
  }
}

/** The two-core ceiling: two worker threads doing matmuls at the same time, GFLOP/s summed. */
const matmulTwoWorkers: BenchSection = {
  name: "matmul, 2 workers",
  run: async (options) => {
    const perWorker = await parallelMatmulGflops(2, matmulSize, options.quick ? 3 : 7)
    const value = perWorker.reduce((a, b) => a + b, 0)
    record(options, "matmul_gflops", value, "GFLOP/s", { threads: 2, backend: "wasm", n: matmulSize, workers: 2 })
  }
}

const fullLayers: ReadonlyArray<Layer> = [
  { b: 32, h: 128, ci: 1, co: 16, k: 3, s: 1 },
  { b: 32, h: 64, ci: 16, co: 32, k: 3, s: 1 },
  { b: 32, h: 32, ci: 32, co: 64, k: 3, s: 1 },
  { b: 32, h: 16, ci: 64, co: 128, k: 3, s: 1 },
  { b: 64, h: 32, ci: 16, co: 32, k: 3, s: 1 },
  { b: 64, h: 8, ci: 64, co: 128, k: 3, s: 1 },
  { b: 32, h: 128, ci: 16, co: 32, k: 3, s: 2 },
  { b: 32, h: 64, ci: 32, co: 64, k: 3, s: 2 },
  { b: 32, h: 32, ci: 32, co: 32, k: 2, s: 2 },
  { b: 32, h: 64, ci: 16, co: 32, k: 1, s: 2 }
]

const quickLayers: ReadonlyArray<Layer> = [
  { b: 8, h: 128, ci: 1, co: 16, k: 3, s: 1 },
  { b: 8, h: 64, ci: 16, co: 32, k: 3, s: 1 },
  { b: 8, h: 128, ci: 16, co: 32, k: 3, s: 2 }
]

const wasmBackend = () => tf.backend() as BackendWasm

/** Runs the stock (pre-project) wasm kernel on tensors and frees its output. */
const runStock = (kernel: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => {
  const out = stockKernel(kernel)({ inputs, backend: wasmBackend(), attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo
  return () => wasmBackend().disposeData(out.dataId)
}

const runProject = (kernel: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => {
  const out = tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor
  return () => out.dispose()
}

type Impl = "stock" | "project"

/** Median seconds of one kernel call on fresh random operands of the given shapes. */
const timeKernel = (reps: number, shapes: Record<string, Array<number>>, call: (inputs: Record<string, tf.Tensor>) => () => void) =>
  medianSeconds(
    reps,
    () => Object.fromEntries(Object.entries(shapes).map(([k, shape]) => [k, tf.randomUniform(shape, -1, 1)])),
    call,
    (inputs, free) => {
      free()
      tf.dispose(Object.values(inputs))
    }
  )

/** GFLOP/s of forward conv (stock), dx (stock and ours) and dW (ours; there is no stock one) per layer. */
const convKernels: BenchSection = {
  name: "conv kernels",
  run: async (options) => {
    const reps = options.quick ? 3 : 5
    for (const l of options.quick ? quickLayers : fullLayers) {
      const oh = Math.ceil(l.h / l.s)
      const flops = 2 * l.b * oh * oh * l.k * l.k * l.ci * l.co
      const x = [l.b, l.h, l.h, l.ci],
        w = [l.k, l.k, l.ci, l.co],
        dy = [l.b, oh, oh, l.co]
      const conv = { strides: l.s, pad: "same", dataFormat: "NHWC", dilations: 1 }
      const emit = (kernel: string, impl: Impl, seconds: number) => {
        record(options, "kernel_gflops", flops / seconds / 1e9, "GFLOP/s", { kernel, shape: layerName(l), impl })
        return seconds
      }
      emit(
        "Conv2D",
        "stock",
        timeKernel(reps, { x, filter: w }, (i) => runStock("Conv2D", i, conv))
      )
      const dxAttrs = { ...conv, inputShape: x }
      const dxOurs = emit(
        "Conv2DBackpropInput",
        "project",
        timeKernel(reps, { dy, filter: w }, (i) => runProject("Conv2DBackpropInput", i, dxAttrs))
      )
      if (l.ci > 1) {
        const dxStock = emit(
          "Conv2DBackpropInput",
          "stock",
          timeKernel(options.quick ? 1 : 3, { dy, filter: w }, (i) => runStock("Conv2DBackpropInput", i, dxAttrs))
        )
        record(options, "kernel_speedup", dxStock / dxOurs, "×", { kernel: "Conv2DBackpropInput", shape: layerName(l), versus: "stock" })
      }
      emit(
        "Conv2DBackpropFilter",
        "project",
        timeKernel(reps, { x, dy }, (i) => runProject("Conv2DBackpropFilter", i, { ...conv, filterShape: w }))
      )
    }
  }
}

/** The data-movement kernels the project replaced, stock vs ours, in ms per call. */
const otherKernels: BenchSection = {
  name: "other kernels",
  run: async (options) => {
    const b = options.quick ? 8 : 32
    const reps = options.quick ? 3 : 5
    const act = [b, 128, 128, 16]
    const pooled = [b, 64, 64, 16]
    const cases: ReadonlyArray<{ kernel: string; shape: string; shapes: Record<string, Array<number>>; attrs: Record<string, unknown> }> = [
      {
        kernel: "MaxPoolGrad",
        shape: `${act.join("x")} pool 2/2`,
        shapes: { dy: pooled, input: act, output: pooled },
        attrs: { filterSize: 2, strides: 2, pad: "valid" }
      },
      { kernel: "Tile", shape: `1x1x1x16 -> ${act.join("x")}`, shapes: { x: [1, 1, 1, 16] }, attrs: { reps: [b, 128, 128, 1] } },
      {
        kernel: "SplitV",
        shape: `${[b, 64, 64, 64].join("x")} -> 2 on channels`,
        shapes: { x: [b, 64, 64, 64] },
        attrs: { numOrSizeSplits: [32, 32], axis: 3 }
      },
      {
        kernel: "Slice",
        shape: `${[b, 64, 64, 64].join("x")} channels 0..31`,
        shapes: { x: [b, 64, 64, 64] },
        attrs: { begin: [0, 0, 0, 0], size: [b, 64, 64, 32] }
      },
      { kernel: "Sum", shape: `${act.join("x")} over N,H,W`, shapes: { x: act }, attrs: { axis: [0, 1, 2], keepDims: false } },
      {
        kernel: "BatchMatMul",
        shape: "1024x256 T · 1024x256 (dense weight gradient)",
        shapes: { a: [1024, 256], b: [1024, 256] },
        attrs: { transposeA: true, transposeB: false }
      },
      {
        kernel: "ResizeNearestNeighborGrad",
        shape: `${act.join("x")} -> ${pooled.join("x")} (×2 upsampling)`,
        shapes: { images: pooled, dy: act },
        attrs: { alignCorners: false, halfPixelCenters: false, size: [128, 128] }
      },
      { kernel: "Mean", shape: `${act.join("x")} over N,H,W`, shapes: { x: act }, attrs: { axis: [0, 1, 2], keepDims: true } }
    ]
    for (const c of cases) {
      const time = (impl: Impl) => {
        const seconds = timeKernel(reps, c.shapes, (inputs) => {
          if (impl === "project") {
            const out = tf.engine().runKernel(c.kernel, inputs, c.attrs as tf.NamedAttrMap)
            return () => tf.dispose(out)
          }
          const out = stockKernel(c.kernel)({ inputs, backend: wasmBackend(), attrs: c.attrs as tf.NamedAttrMap })
          return () => (Array.isArray(out) ? out : [out]).forEach((t) => wasmBackend().disposeData(t.dataId))
        })
        record(options, "kernel_ms", seconds * 1e3, "ms", { kernel: c.kernel, shape: c.shape, impl })
        return seconds
      }
      const stock = time("stock")
      record(options, "kernel_speedup", stock / time("project"), "×", { kernel: c.kernel, shape: c.shape, versus: "stock" })
    }
  }
}

/** A ref-resnet (width 1) + score head + pairwise hinge step through the data-parallel trainer. */
type StepConfig = {
  readonly backend: "wasm" | "cpu"
  readonly threads: number
  readonly batch: number
  readonly size: number
}

const stepShapes = (quick: boolean) =>
  quick
    ? [{ batch: 8, size: 64 }]
    : [
        { batch: 32, size: 128 },
        { batch: 64, size: 64 }
      ]

/** Wall and process-CPU seconds of one call (CPU time counts every thread and barely moves with contention). */
const measure = async (run: () => Promise<unknown>) => {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await run()
  const cpu = process.cpuUsage(cpu0)
  return { wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 }
}

/** The matmul ceiling at this parallelism, measured right next to a step so both see the same load. */
const ceilingNow = async (threads: number) =>
  threads === 1 ? matmulGflops(matmulSize, 3) : (await parallelMatmulGflops(threads, matmulSize, 3)).reduce((a, b) => a + b, 0)

const stepTrainer = (c: StepConfig) =>
  makeTrainer({
    task: { module: rankingTask, config: { width: 1, depth: 1, inputSize: c.size, margin: 0.2 } },
    compute: { backend: c.backend, threads: c.threads },
    partitions: 2,
    optimizer: { lr: 3e-4 },
    seed: 1
  })

const stepBatch = (c: StepConfig) => ({
  inputs: new Float32Array(c.batch * c.size * c.size).map(() => Math.random()),
  shape: [c.batch, c.size, c.size, 1] as const,
  meta: { positions: Array.from({ length: c.batch }, (_, i) => i) }
})

/** Wasm step times by "threads/batch/size", for speedup_vs_cpu once the cpu step is measured. */
const wasmSteps = new Map<string, { readonly wall: number; readonly cpu: number }>()

/**
 * 1 worker and 2 workers side by side: both trainers live at once and their steps alternate, each
 * right after a matmul ceiling at its own parallelism, so the ratios compare like with like on a
 * machine whose load changes from minute to minute.
 */
const trainingStepWasm: BenchSection = {
  name: "training step, wasm, 1 and 2 workers interleaved",
  run: (options) =>
    Effect.runPromise(
      Effect.forEach(stepShapes(options.quick), ({ batch, size }) =>
        Effect.scoped(
          Effect.gen(function* () {
            const configs: ReadonlyArray<StepConfig> = [1, 2].map((threads) => ({ backend: "wasm", threads, batch, size }))
            const flops = stepFlops(batch, size)
            const trainers = [yield* stepTrainer(configs[0]), yield* stepTrainer(configs[1])]
            const data = stepBatch(configs[0])
            for (const t of trainers) yield* t.step(data)
            const runs = configs.map(() => ({ wall: [] as number[], cpu: [] as number[], fraction: [] as number[] }))
            for (let rep = 0; rep < (options.quick ? 2 : 3); rep++) {
              for (let i = 0; i < configs.length; i++) {
                const ceiling = yield* Effect.promise(() => ceilingNow(configs[i].threads))
                const m = yield* Effect.promise(() => measure(() => Effect.runPromise(trainers[i].step(data))))
                runs[i].wall.push(m.wall)
                runs[i].cpu.push(m.cpu)
                runs[i].fraction.push(flops / m.wall / 1e9 / ceiling)
              }
            }
            for (let i = 0; i < configs.length; i++) {
              const c = configs[i]
              const wall = median(runs[i].wall)
              const cpu = median(runs[i].cpu)
              wasmSteps.set(`${c.threads}/${batch}/${size}`, { wall, cpu })
              record(options, "step_s", wall, "s", c)
              record(options, "step_cpu_s", cpu, "s", { ...c, note: "process CPU time, all threads" })
              record(options, "step_gflops", flops / wall / 1e9, "GFLOP/s", c)
              record(options, "fraction_of_ceiling", median(runs[i].fraction), "ratio", {
                ...c,
                ceiling: "matmul 1024 at the same parallelism, measured before each step"
              })
              const heap = Math.max(...(yield* trainers[i].memory()).map((m) => m.wasmHeapBytes))
              record(options, "wasm_heap_mb", heap / 2 ** 20, "MiB", { ...c, per: "worker" })
            }
            const pairs = runs[0].wall.map((w, k) => w / runs[1].wall[k])
            record(options, "speedup_2_vs_1_workers", median(pairs), "×", { backend: "wasm", batch, size })
          })
        )
      ).pipe(Effect.asVoid)
    )
}

/**
 * The stock cpu backend: ONE step, on a batch of 2 (a full batch takes tens of minutes); its time
 * per sample gives speedup_vs_cpu of the wasm steps at the full batch, from wall time and, less
 * sensitive to other load, from CPU time (1 worker). Skipped in --quick.
 */
const trainingStepCpu: BenchSection = {
  name: "training step, cpu backend (batch 2, scaled per sample)",
  run: (options) =>
    options.quick
      ? Promise.resolve()
      : Effect.runPromise(
          Effect.forEach(stepShapes(false), ({ batch, size }) =>
            Effect.scoped(
              Effect.gen(function* () {
                const cpuBatch = 2
                const c: StepConfig = { backend: "cpu", threads: 1, batch: cpuBatch, size }
                const trainer = yield* stepTrainer(c)
                const data = stepBatch(c)
                const m = yield* Effect.promise(() => measure(() => Effect.runPromise(trainer.step(data))))
                record(options, "step_s", m.wall, "s", c)
                record(options, "step_cpu_s", m.cpu, "s", { ...c, note: "process CPU time, all threads" })
                record(options, "step_gflops", stepFlops(cpuBatch, size) / m.wall / 1e9, "GFLOP/s", c)
                for (const threads of [1, 2]) {
                  const wasm = wasmSteps.get(`${threads}/${batch}/${size}`)
                  if (wasm === undefined) continue
                  const scale = batch / cpuBatch
                  record(options, "speedup_vs_cpu", (m.wall * scale) / wasm.wall, "×", {
                    backend: "wasm",
                    threads,
                    batch,
                    size,
                    cpu_batch: cpuBatch,
                    from: "wall time"
                  })
                  if (threads === 1) {
                    record(options, "speedup_vs_cpu", (m.cpu * scale) / wasm.cpu, "×", {
                      backend: "wasm",
                      threads,
                      batch,
                      size,
                      cpu_batch: cpuBatch,
                      from: "CPU time"
                    })
                  }
                }
              })
            )
          ).pipe(Effect.asVoid)
        )
}

/** U-Net decoder variants (upsampling × skip join), one wasm worker: concat's gradient is a channel split. */
const unetVariants: BenchSection = {
  name: "U-Net variants, wasm, 1 worker",
  run: async (options) => {
    const [batch, size, classes] = options.quick ? [4, 64, 3] : [16, 128, 3]
    const inputs = new Float32Array(batch * size * size).map(() => Math.random())
    const targets = new Float32Array(batch * size * size * classes)
    for (let i = 0; i < batch * size * size; i++) targets[i * classes + (i % classes)] = 1
    for (const upsample of ["transpose", "nearest"] as const) {
      for (const skip of ["add", "concat"] as const) {
        const seconds = await Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              const trainer = yield* makeTrainer({
                task: { module: segmentationTask, config: { width: 1, inputSize: size, numClasses: classes, upsample, skip } },
                compute: { backend: "wasm", threads: 1 },
                seed: 1
              })
              const step = {
                inputs,
                shape: [batch, size, size, 1] as const,
                targets: { data: targets, shape: [batch, size, size, classes] }
              }
              yield* trainer.step(step)
              const times: number[] = []
              for (let i = 0; i < (options.quick ? 1 : 3); i++) {
                const t0 = performance.now()
                yield* trainer.step(step)
                times.push((performance.now() - t0) / 1000)
              }
              return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]
            })
          )
        )
        record(options, "unet_step_s", seconds, "s", { backend: "wasm", threads: 1, batch, size, upsample, skip })
      }
    }
  }
}

const sections: ReadonlyArray<BenchSection> = [
  matmulOneThread,
  matmulTwoWorkers,
  convKernels,
  otherKernels,
  trainingStepWasm,
  unetVariants,
  trainingStepCpu,
  ...nativeSections
]

const bench: Bench = {
  name: "compute",
  description: "wasm matmul ceiling (1 thread, 2 workers), project wasm kernels vs stock, training steps, native (oneDNN) vs wasm",
  sections: sections.map((s) => s.name),
  run: async (options) => {
    const info = await initBackendAsync({ backend: "wasm" }, { log: options.log })
    if (info.backend !== "wasm") throw new Error(`bench compute needs the wasm backend, got ${info.backend}`)
    for (const section of sections.filter((s) => options.only === undefined || s.name.includes(options.only))) {
      options.log(`compute: ${section.name}`)
      await section.run(options)
    }
  }
}

export default bench
