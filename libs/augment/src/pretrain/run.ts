import { Effect } from "effect"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import {
  type ArtifactRef,
  type EncoderIndex,
  INDEX_FILE,
  type StageContext,
  type StageError,
  StageFailure,
  type TupleGroup
} from "@tomoprior/core"
import { centerCropOrPad } from "../ops.ts"
import { openTupleSet, type TupleData, stepImages } from "./data.ts"
import { runTrainingLoop } from "./loop.ts"
import type { PretrainParams } from "./params.ts"
import type { Trainer } from "./trainer-state.ts"
import type { Task } from "./trainer.ts"

/** What distinguishes one pre-training method from another; everything else is shared. */
export interface Method<Meta> {
  readonly name: string
  /** Independently augmented views of each slice per step (SimCLR 2, sorting 1). */
  readonly views: number
  readonly task: Task<Meta>
  readonly meta: (groups: ReadonlyArray<TupleGroup>) => Meta
  /** Held-out metrics, computed with the trainer's inference outputs. */
  readonly validate: (predict: Trainer<Meta>["predict"]) => Promise<Record<string, number>>
  /** Method-specific settings recorded in the Encoder index. */
  readonly settings: Record<string, unknown>
}

export type PretrainContext<P extends PretrainParams> = StageContext<
  P,
  { readonly tuples: { readonly kind: "TupleSet" } },
  { readonly encoder: "Encoder" }
>

/** Images of the given slices centre-cropped to `size`, for inference. */
export const centeredImages = (data: TupleData, slices: ReadonlyArray<{ volume: string; position: number }>, size: number): Float32Array => {
  const out = new Float32Array(slices.length * size * size)
  slices.forEach((s, i) => {
    const { data: plane, h, w } = data.slice(s.volume, s.position)
    out.set(centerCropOrPad({ data: plane, h, w }, size).data, i * size * size)
  })
  return out
}

/** Held-out volumes, or the training volumes (with a warning) when the TupleSet kept none back. */
export const validationVolumes = (data: TupleData): { ids: ReadonlyArray<string>; heldOut: boolean } =>
  data.index.validationVolumes.length > 0
    ? { ids: data.index.validationVolumes, heldOut: true }
    : { ids: data.index.trainVolumes, heldOut: false }

/**
 * The shared body of the pre-training stages: opens the TupleSet, builds the method on the chosen
 * backend, runs the checkpointed loop and writes the Encoder artifact.
 */
export const runPretraining = <P extends PretrainParams, Meta>(
  ctx: PretrainContext<P>,
  makeMethod: (data: TupleData) => Promise<Method<Meta>>
): Effect.Effect<void, StageError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const p = ctx.params
      const fail = (reason: string, hint?: string) => new StageFailure({ stage: ctx.stageId, reason, ...(hint ? { hint } : {}) })
      const compute = yield* Effect.promise(() => import("@tomoprior/compute"))
      const backend = yield* compute.initBackend(ctx.compute, { log: () => {} })
      yield* ctx.log(compute.describeBackend(backend))
      const tuples: ArtifactRef = ctx.inputs.tuples
      const data = yield* openTupleSet(tuples.dir)
      const epochs = data.index.epochs
      const groupSize = data.index.groupSize
      const stepsPerEpoch = Math.floor((epochs[0]?.length ?? 0) / p.groupsPerStep)
      if (stepsPerEpoch === 0)
        return yield* fail(`the TupleSet has ${epochs[0]?.length ?? 0} groups per epoch, fewer than groupsPerStep ${p.groupsPerStep}`, "lower groupsPerStep or raise tuple-sample's groupsPerEpoch")
      const totalSteps = p.steps ?? (p.epochs ?? epochs.length) * stepsPerEpoch
      const groupsAt = (step: number) => {
        const epoch = epochs[Math.floor(step / stepsPerEpoch) % epochs.length]
        const j = step % stepsPerEpoch
        return epoch.slice(j * p.groupsPerStep, (j + 1) * p.groupsPerStep)
      }
      if (!validationVolumes(data).heldOut) yield* ctx.log("warning: the TupleSet holds no validation volumes; validating on training volumes")

      const method = yield* Effect.tryPromise({
        try: () => makeMethod(data),
        catch: (e) => fail(`cannot build the model: ${e instanceof Error ? e.message : String(e)}`)
      })
      const { makeLocalTrainer } = yield* Effect.promise(() => import("./trainer.ts"))
      const trainer = yield* Effect.acquireRelease(
        Effect.sync(() => makeLocalTrainer(method.task, { learningRate: p.learningRate, size: p.inputSize })),
        (t) => Effect.sync(() => t.dispose())
      )
      yield* ctx.provenance({
        backend: backend.backend,
        backendReason: backend.reason,
        threads: backend.threads,
        tfjs: backend.version,
        kernels: backend.kernels,
        trainer: "local (1 replica)",
        seed: p.seed
      })
      const slicesPerStep = p.groupsPerStep * groupSize
      const result = yield* runTrainingLoop(
        { stage: ctx.stageId, totalSteps, stepsPerEpoch, checkpointEvery: p.checkpointEvery, slicesPerStep, workDir: ctx.workDir },
        {
          trainer,
          batch: (step) => {
            const groups = groupsAt(step)
            return {
              inputs: stepImages(data, groups, p.inputSize, p.augment, p.seed, step, method.views),
              count: slicesPerStep * method.views,
              meta: method.meta(groups)
            }
          },
          validate: () => method.validate(trainer.predict),
          log: ctx.log,
          progress: ctx.progress
        }
      )
      const modelDir = "model"
      yield* compute.saveCheckpoint(method.task.model, join(ctx.outputs.encoder, modelDir), {
        architecture: p.architecture,
        width: p.width,
        depth: p.depth,
        inputSize: p.inputSize,
        method: method.name,
        backend: backend.backend,
        steps: result.steps,
        settings: method.settings
      }).pipe(Effect.mapError((e) => fail(e.message)))
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
        settings: { ...method.settings, depth: p.depth, learningRate: p.learningRate, groupSize, groupsPerStep: p.groupsPerStep, seed: p.seed }
      }
      yield* Effect.tryPromise({
        try: () => writeFile(join(ctx.outputs.encoder, INDEX_FILE), JSON.stringify(index, null, 1)),
        catch: (e) => fail(`cannot write the Encoder index: ${String(e)}`)
      })
    })
  )
