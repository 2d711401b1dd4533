import { Effect } from "effect"
import { join } from "node:path"
import {
  Compute,
  type EncoderIndex,
  kernelCountsLine,
  type StageContext,
  type StageError,
  StageFailure,
  type TupleGroup
} from "@tomoprior/core"
import { centerCropOrPad } from "@tomoprior/augment"
import { openTupleSet, type TupleData, stepImages } from "./data.ts"
import { runTrainingLoop } from "./loop.ts"
import type { PretrainParams } from "./params.ts"
import { probeMetrics, probeSet } from "./validation-probe.ts"

/** Inference outputs (flattened) of the current weights for `count` images. */
export type Predict = (inputs: Float32Array, count: number) => Promise<Float32Array>

/** What distinguishes one pre-training method from another; everything else is shared. */
export interface Method {
  readonly name: string
  /** Independently augmented views of each slice per step (SimCLR 2, sorting 1). */
  readonly views: number
  /**
   * Leading columns of the task's `evaluate` rows that are the head's output (1 score, 256
   * projections); the rest are the encoder's pooled features, which the probes read.
   */
  readonly headDims: number
  /** The compute trainer's task module (loaded in each worker) and its JSON config. */
  readonly task: { readonly module: URL; readonly config: unknown }
  /** JSON metadata the task's loss receives for a step's groups. */
  readonly meta: (groups: ReadonlyArray<TupleGroup>) => unknown
  /** Held-out metrics of the current weights. */
  readonly validate: (predict: Predict) => Promise<Record<string, number>>
  /** Method-specific settings recorded in the Encoder index and checkpoint. */
  readonly settings: Record<string, unknown>
}

export type PretrainContext<P extends PretrainParams> = StageContext<
  P,
  { readonly tuples: { readonly kind: "TupleSet" } },
  { readonly encoder: "Encoder" }
>

/** Images of the given slices center-cropped to `size`, for inference. */
export const centeredImages = (
  data: TupleData,
  slices: ReadonlyArray<{ volume: string; position: number }>,
  size: number
): Float32Array => {
  const out = new Float32Array(slices.length * size * size)
  slices.forEach((s, i) => {
    const { data: plane, h, w } = data.slice(s.volume, s.position)
    out.set(centerCropOrPad({ data: plane, h, w }, size).data, i * size * size)
  })
  return out
}

/** Held-out volumes, or the training volumes when the TupleSet kept none back. */
export const validationVolumes = (data: TupleData): { ids: ReadonlyArray<string>; heldOut: boolean } =>
  data.index.validationVolumes.length > 0
    ? { ids: data.index.validationVolumes, heldOut: true }
    : { ids: data.index.trainVolumes, heldOut: false }

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * The shared body of the pre-training stages: opens the TupleSet, starts the compute library's
 * data-parallel trainer on the method's task, runs the checkpointed loop and writes the Encoder.
 */
export const runPretraining = <P extends PretrainParams>(
  ctx: PretrainContext<P>,
  makeMethod: (data: TupleData) => Method
): Effect.Effect<void, StageError, Compute> =>
  Effect.scoped(
    Effect.gen(function* () {
      const p = ctx.params
      const fail = (reason: string, hint?: string) => new StageFailure({ stage: ctx.stageId, reason, ...(hint ? { hint } : {}) })
      const data = yield* openTupleSet(ctx.inputs.tuples.dir, yield* ctx.readIndex(ctx.inputs.tuples))
      const epochs = data.index.epochs
      const groupSize = data.index.groupSize
      const stepsPerEpoch = Math.floor((epochs[0]?.length ?? 0) / p.groupsPerStep)
      if (stepsPerEpoch === 0)
        return yield* fail(
          `the TupleSet has ${epochs[0]?.length ?? 0} groups per epoch, fewer than groupsPerStep ${p.groupsPerStep}`,
          "lower groupsPerStep or raise tuple-sample's groupsPerEpoch"
        )
      const method = yield* Effect.try({ try: () => makeMethod(data), catch: (e) => fail(errorText(e)) })
      const slicesPerStep = p.groupsPerStep * groupSize
      const count = slicesPerStep * method.views
      if (count % p.bnPartitions !== 0)
        return yield* fail(
          `a step has ${count} images, not divisible into bnPartitions ${p.bnPartitions}`,
          "choose bnPartitions dividing groupSize × groupsPerStep"
        )
      const totalSteps = p.steps ?? (p.epochs ?? epochs.length) * stepsPerEpoch
      const groupsAt = (step: number) => {
        const epoch = epochs[Math.floor(step / stepsPerEpoch) % epochs.length]
        const j = step % stepsPerEpoch
        return epoch.slice(j * p.groupsPerStep, (j + 1) * p.groupsPerStep)
      }
      if (!validationVolumes(data).heldOut)
        yield* ctx.log("warning: the TupleSet holds no validation volumes; validating on training volumes")

      const compute = yield* Compute
      const toFailure = (e: { readonly message: string }) => fail(e.message)
      const trainer = yield* compute
        .trainer({ task: method.task, partitions: p.bnPartitions, optimizer: { lr: p.learningRate }, seed: p.seed })
        .pipe(Effect.mapError(toFailure))
      yield* ctx.log(`${trainer.backend.summary}; ${trainer.threads} worker(s), ${trainer.paramCount} parameters`)
      yield* ctx.provenance({
        backend: trainer.backend.backend,
        backendReason: trainer.backend.reason,
        tfjs: trainer.backend.version,
        kernels: trainer.backend.kernels,
        workers: trainer.threads,
        seed: p.seed
      })
      const shape = (n: number) => [n, p.inputSize, p.inputSize, 1] as const
      const rows = (inputs: Float32Array, n: number) => Effect.runPromise(trainer.evaluate(inputs, shape(n))).then((out) => out.data)
      const columns = (all: Float32Array, n: number, from: number, to?: number): Float32Array => {
        const width = all.length / n
        const end = to ?? width
        const out = new Float32Array(n * (end - from))
        for (let i = 0; i < n; i++) out.set(all.subarray(i * width + from, i * width + end), i * (end - from))
        return out
      }
      const predict: Predict = (inputs, n) => rows(inputs, n).then((all) => columns(all, n, 0, method.headDims))
      const probes = probeSet(data, validationVolumes(data).ids, p.validationSlices)
      if (!probes) yield* ctx.log("no k-NN / linear probes: they need two labeled validation volumes with slices along z")
      const probeInputs =
        probes &&
        centeredImages(
          data,
          probes.slices.map((s) => ({ volume: s.volume, position: s.position })),
          p.inputSize
        )
      const validate = async (): Promise<Record<string, number>> => {
        const own = await method.validate(predict)
        if (!probes || !probeInputs) return own
        const n = probes.slices.length
        const all = await rows(probeInputs, n)
        return { ...own, ...probeMetrics(probes, columns(all, n, method.headDims), all.length / n - method.headDims) }
      }

      const result = yield* runTrainingLoop(
        { stage: ctx.stageId, totalSteps, stepsPerEpoch, checkpointEvery: p.checkpointEvery, slicesPerStep, workDir: ctx.workDir },
        {
          step: (step) => {
            const groups = groupsAt(step)
            const inputs = stepImages(data, groups, p.inputSize, p.augment, p.seed, step, method.views)
            return Effect.gen(function* () {
              const { loss } = yield* trainer.step({ inputs, shape: shape(count), meta: method.meta(groups) })
              const memory = yield* trainer.memory()
              return { loss, live: { tensors: Math.max(...memory.map((m) => m.tensors)) } }
            }).pipe(Effect.mapError(toFailure))
          },
          getState: trainer.getState().pipe(Effect.mapError(toFailure)),
          setState: (state) => trainer.setState(state).pipe(Effect.mapError(toFailure)),
          validate: Effect.tryPromise({ try: validate, catch: (e) => fail(`validation failed: ${errorText(e)}`) }),
          log: ctx.log,
          progress: ctx.progress
        }
      )
      const kernels = kernelCountsLine(yield* trainer.kernelCounts().pipe(Effect.mapError(toFailure)))
      if (kernels !== undefined) yield* ctx.log(kernels)
      const modelDir = "model"
      yield* trainer
        .save(join(ctx.outputs.encoder, modelDir), {
          architecture: p.architecture,
          width: p.width,
          depth: p.depth,
          inputSize: p.inputSize,
          method: method.name,
          settings: method.settings
        })
        .pipe(Effect.mapError(toFailure))
      const index: EncoderIndex = {
        kind: "Encoder",
        method: method.name,
        architecture: p.architecture,
        width: p.width,
        inputSize: p.inputSize,
        model: modelDir,
        steps: result.steps,
        history: result.history,
        final: result.final,
        settings: {
          ...method.settings,
          depth: p.depth,
          learningRate: p.learningRate,
          groupSize,
          groupsPerStep: p.groupsPerStep,
          bnPartitions: p.bnPartitions,
          seed: p.seed
        }
      }
      yield* ctx.writeIndex("encoder", index)
    })
  )
