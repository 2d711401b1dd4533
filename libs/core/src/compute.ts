import { Context, Effect, Layer, Schema, type Scope } from "effect"
import { BackendUnavailable } from "./errors.ts"

/**
 * Where tensors are computed. `auto` takes tfjs-node-gpu or tfjs-node when they load, else the
 * native oneDNN kernels when built, else wasm; `cpu` is the pure-JS reference. The one list YAML,
 * the CLI, the environment and compute check against.
 */
export const BACKENDS = ["auto", "tensorflow-gpu", "tensorflow", "native", "wasm", "cpu"] as const
export const Backend = Schema.Literals(BACKENDS)
export type Backend = typeof Backend.Type
/** A backend that actually runs: what `auto` resolves to. */
export type ConcreteBackend = Exclude<Backend, "auto">

/** Compute settings a pipeline (or the CLI / environment) gives every stage. */
export interface ComputeSettings {
  readonly backend: Backend
  /** Worker threads for data-parallel training; 0 = one per core. */
  readonly threads: number
}

/** The backend a process computes on, resolved once; what stages record in their provenance. */
export interface BackendInfo {
  readonly backend: ConcreteBackend
  readonly requested: Backend
  /** Why this backend: the request, or what `auto` found. */
  readonly reason: string
  /** Threads one process computes with (data-parallel workers multiply this). */
  readonly threads: number
  /** tfjs-core version. */
  readonly version: string
  /** Kernels the project registered over (or in addition to) the stock backend. */
  readonly kernels: ReadonlyArray<string>
  /** wasm and native: whether the SIMD build of wasm runs (about 3× faster than the plain one). */
  readonly simd?: boolean
  /** native only: the library its kernels run on, e.g. "oneDNN 2.6.3, AVX-512, OpenMP". */
  readonly library?: string
  /** native only: the kernels that run natively (every other op runs on wasm). */
  readonly nativeKernels?: ReadonlyArray<string>
  /** Advice worth printing once per run, e.g. how to get the native kernels when `auto` had to do without. */
  readonly notice?: string
  /** One line for logs: "compute: wasm (SIMD, 1 thread per worker, tfjs 4.22.0, project kernels: …)". */
  readonly summary: string
}

/** Our metadata in a checkpoint (`userDefinedMetadata.tomoprior` of the tfjs model.json). */
export const CheckpointMetadata = Schema.Struct({
  architecture: Schema.String,
  width: Schema.Number,
  depth: Schema.optional(Schema.Number),
  inputSize: Schema.NullOr(Schema.Number),
  /** What trained it: "sorting", "simclr", "finetune", "none"… */
  method: Schema.String,
  backend: Schema.String,
  steps: Schema.Number,
  settings: Schema.optional(Schema.Record(Schema.String, Schema.Unknown))
})
export type CheckpointMetadata = typeof CheckpointMetadata.Type

/** A checkpoint directory that cannot be written or read; says which file and what is wrong. */
export class CheckpointError extends Schema.TaggedError<CheckpointError>()("CheckpointError", {
  path: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `checkpoint ${this.path}: ${this.problem}`
  }
}

/** The trainer could not do what was asked; `operation` says which call, `reason` what to fix. */
export class TrainerError extends Schema.TaggedError<TrainerError>()("TrainerError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `trainer ${this.operation}: ${this.reason}`
  }
}

/** Inference or a tensor operation failed (out of memory, a shape the model does not take…). */
export class ComputeError extends Schema.TaggedError<ComputeError>()("ComputeError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `compute ${this.operation}: ${this.reason}`
  }
}

export interface FlatTensor {
  readonly data: Float32Array
  readonly shape: ReadonlyArray<number>
}

/** Everything needed to continue training exactly: weights, Adam moments, BN statistics, step. */
export interface TrainerState {
  readonly step: number
  readonly names: ReadonlyArray<string>
  readonly shapes: ReadonlyArray<ReadonlyArray<number>>
  readonly weights: Float32Array
  readonly m: Float32Array
  readonly v: Float32Array
  /** Moving mean then moving variance of each BatchNorm layer, in `bnNames` order. */
  readonly batchNorm: Float32Array
  readonly bnNames: ReadonlyArray<string>
}

export interface AdamOptions {
  readonly lr: number
  readonly beta1?: number
  readonly beta2?: number
  readonly epsilon?: number
  /** Decoupled weight decay (AdamW), per unit of learning rate. */
  readonly weightDecay?: number
}

export interface MemoryReport {
  readonly rank: number
  readonly tensors: number
  /** Bytes held by tfjs tensors now (between steps: weights and little else). */
  readonly tfjsBytes: number
  /**
   * Peak tfjs bytes during the profiled steps (0 unless the trainer profiles memory). tfjs counts a
   * tensor that shares another's data (clone, reshape) again, so this overstates; the wasm heap is
   * what the process really holds.
   */
  readonly peakBytes: number
  /** Size of the wasm heap (it never shrinks; 0 on other backends). */
  readonly wasmHeapBytes: number
}

/** How often one native kernel ran natively and fell back to the kernel it replaced, and why. */
export interface KernelCount {
  readonly native: number
  readonly fallback: number
  /** Each distinct reason for a fallback once. */
  readonly reasons: ReadonlyArray<string>
}

/**
 * One log line for the native kernels' counts summed over workers ("native kernels: 9120 calls, no
 * fallbacks", or each kernel that fell back with its reasons); undefined when none ran.
 */
export const kernelCountsLine = (perWorker: ReadonlyArray<Readonly<Record<string, KernelCount>>>): string | undefined => {
  const total = new Map<string, { native: number; fallback: number; reasons: Set<string> }>()
  for (const counts of perWorker)
    for (const [name, c] of Object.entries(counts)) {
      const t = total.get(name) ?? { native: 0, fallback: 0, reasons: new Set<string>() }
      t.native += c.native
      t.fallback += c.fallback
      for (const r of c.reasons) t.reasons.add(r)
      total.set(name, t)
    }
  const calls = [...total.values()].reduce((a, t) => a + t.native + t.fallback, 0)
  if (calls === 0) return undefined
  const fell = [...total].filter(([, t]) => t.fallback > 0)
  if (fell.length === 0) return `native kernels: ${calls} calls, no fallbacks`
  const which = fell.map(([name, t]) => `${name} ${t.fallback}× (${[...t.reasons].join("; ")})`).join(", ")
  return `native kernels: ${calls} calls, ${fell.reduce((a, [, t]) => a + t.fallback, 0)} fell back to wasm: ${which}`
}

export interface TrainerOptions {
  /**
   * The task module (URL or path; its default export is compute's `defineTask(...)`) and the JSON
   * config its factory receives. The module runs inside the trainer's worker threads: it is the one
   * place a stage library holds tensor code.
   */
  readonly task: { readonly module: string | URL; readonly config: unknown }
  /** Partitions per batch (ghost-BN groups); results do not depend on the thread count. Default 2. */
  readonly partitions?: number
  readonly optimizer?: AdamOptions
  readonly seed?: number
  /** Track peak tfjs bytes per step (tf.profile; costs a little time). */
  readonly profileMemory?: boolean
  /** Floats reserved for exchanging head outputs between workers (default 8 M = 32 MB). */
  readonly exchangeFloats?: number
  /** Samples per forward pass in `evaluate` (default 32). */
  readonly evaluateBatch?: number
}

export interface Batch {
  /** [N, H, W, C] slices, N divisible by the partition count. */
  readonly inputs: Float32Array
  readonly shape: readonly [number, number, number, number]
  readonly meta?: unknown
  /** Per-sample targets of the whole batch (e.g. label maps [N, H, W, K]). */
  readonly targets?: FlatTensor
  /** Learning rate for this step (schedules); default the optimizer's. */
  readonly lr?: number
}

export interface StepResult {
  readonly loss: number
  /** Steps done so far (after this one). */
  readonly step: number
  /** Fingerprints of each worker's weights after the step: equal when replicas agree. */
  readonly checksums: ReadonlyArray<number>
}

export type SaveMetadata = Omit<CheckpointMetadata, "backend" | "steps">

/** Data-parallel training of one task over worker threads (compute's README describes the maths). */
export interface Trainer {
  readonly threads: number
  readonly partitions: number
  readonly backend: BackendInfo
  readonly paramCount: number
  step(batch: Batch): Effect.Effect<StepResult, TrainerError>
  /** Inference outputs of the task for [N, H, W, C] inputs, computed by all workers. */
  evaluate(inputs: Float32Array, shape: readonly [number, number, number, number]): Effect.Effect<FlatTensor, TrainerError>
  getState(): Effect.Effect<TrainerState, TrainerError>
  setState(state: TrainerState): Effect.Effect<void, TrainerError>
  /** Writes the task's model as a tfjs checkpoint; backend and step count are filled in. */
  save(dir: string, metadata: SaveMetadata): Effect.Effect<void, TrainerError>
  memory(): Effect.Effect<ReadonlyArray<MemoryReport>, TrainerError>
  /**
   * Per worker, each native kernel's calls and fallbacks so far (empty off the native backend): a
   * fallback in a hot path is a bug to fix.
   */
  kernelCounts(): Effect.Effect<ReadonlyArray<Readonly<Record<string, KernelCount>>>, TrainerError>
}

/** Same-size single-channel slices, row-major [count, height, width]. */
export interface SliceBatch {
  readonly data: Float32Array
  readonly count: number
  readonly height: number
  readonly width: number
}

/** A fine-tuned segmentation model, loaded for inference. */
export interface SegmentationModel {
  readonly metadata: CheckpointMetadata
  /**
   * The class of every pixel of every slice, at the slices' own size: slices are resized
   * (bilinear) to the model's input size and its logits resized back before the argmax.
   */
  readonly classes: (batch: SliceBatch) => Effect.Effect<Uint8Array, ComputeError>
}

/** Per slice, what an encoder says about it. */
export interface Encoding {
  /** The model's output vector (a score head: one number). */
  readonly outputs: ReadonlyArray<Float32Array>
  /**
   * A model with a head (score or projection): its encoder's pooled last-stage features (averaged over
   * space), a slice's representation; absent when the model is a bare encoder (its outputs are those).
   */
  readonly features?: ReadonlyArray<Float32Array>
}

/** A pre-trained encoder (a score or projection model), loaded for inference. */
export interface EncoderModel {
  readonly metadata: CheckpointMetadata
  /** Length of the output vector: 1 for a score head. */
  readonly outputSize: number
  /** Slices are resized (bilinear) to the model's input size first. */
  readonly encode: (batch: SliceBatch) => Effect.Effect<Encoding, ComputeError>
}

/**
 * Compute as stages see it: the backend resolved once per run (`--backend`, TOMOPRIOR_BACKEND and
 * the pipeline's `compute:`, in that order, are merged before the service is made), a trainer
 * factory, checkpoints and inference. A stage `yield* Compute`; it never imports tfjs or picks a
 * backend. The app provides the implementation (@tomoprior/compute's `computeLayer`), which loads
 * tfjs on the first call, so runs that compute nothing never pay for it.
 */
export class Compute extends Context.Service<
  Compute,
  {
    readonly settings: ComputeSettings
    /** This process's backend, initialized on first use; later calls return the same. */
    readonly backend: Effect.Effect<BackendInfo, BackendUnavailable>
    /** A data-parallel trainer on the resolved backend; its workers stop when the scope closes. */
    readonly trainer: (options: TrainerOptions) => Effect.Effect<Trainer, BackendUnavailable | TrainerError, Scope.Scope>
    /** A checkpoint's metadata, without building the model. */
    readonly checkpointMetadata: (dir: string) => Effect.Effect<CheckpointMetadata, CheckpointError>
    /** Loads a segmentation checkpoint; disposed when the scope closes. */
    readonly segmentationModel: (
      dir: string,
      inputSize: number
    ) => Effect.Effect<SegmentationModel, BackendUnavailable | CheckpointError, Scope.Scope>
    /** Loads an encoder checkpoint; disposed when the scope closes. */
    readonly encoderModel: (
      dir: string,
      inputSize: number
    ) => Effect.Effect<EncoderModel, BackendUnavailable | CheckpointError, Scope.Scope>
    /**
     * A checkpoint as the bytes of an ONNX model (opset 17) taking NCHW slices [N, channels, inputSize,
     * inputSize] as `input` and giving the model's output as `output` (a U-Net's logits NCHW).
     */
    readonly onnx: (dir: string, inputSize: number) => Effect.Effect<Uint8Array, BackendUnavailable | CheckpointError | ComputeError>
    /** Slices resized to size × size (tfjs' bilinear or nearest neighbor, as the models see them). */
    readonly resize: (
      batch: SliceBatch,
      size: number,
      method: "bilinear" | "nearest"
    ) => Effect.Effect<Float32Array, BackendUnavailable | ComputeError>
  }
>()("@tomoprior/core/Compute") {
  /**
   * A Compute whose every operation fails with BackendUnavailable naming `reason`: for stage tests
   * that need none, and for code paths that must not compute.
   */
  static readonly unavailable = (reason: string, settings: ComputeSettings = { backend: "auto", threads: 0 }): Layer.Layer<Compute> => {
    const fail = Effect.fail(new BackendUnavailable({ backend: settings.backend, reason }))
    return Layer.succeed(
      Compute,
      Compute.of({
        settings,
        backend: fail,
        trainer: () => fail,
        checkpointMetadata: (dir) => Effect.fail(new CheckpointError({ path: dir, problem: reason })),
        segmentationModel: () => fail,
        encoderModel: () => fail,
        onnx: () => fail,
        resize: () => fail
      })
    )
  }
}
