import { Effect, Schema } from "effect"
import { join } from "node:path"
import { Compute, defineStage, type EpochRecord, INDEX_FILE, InputError, StageFailure } from "@tomoprior/core"
import { openVolume, resolveVolumeSet, type VolumeHandle } from "@tomoprior/volume"
import { asSelections, batchSampler, type Budget, selectSlices, splitVolumes } from "./selection.ts"
import type { SegmentationTaskConfig } from "./task.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/** The model zoo's encoder, which the random-init baseline uses (an Encoder input names its own). */
const DEFAULT_ARCHITECTURE = "ref-resnet"

export const FinetuneParams = Schema.Struct({
  /** Share of the annotated training slices to label (0.005 … 1); default 1 unless everyK is set. */
  fraction: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1))),
  /** Label every k-th slice of each training volume instead of a random fraction. */
  everyK: Schema.optional(PositiveInt),
  seed: Schema.optional(Schema.Int),
  steps: Schema.optional(PositiveInt),
  batchSize: Schema.optional(PositiveInt),
  learningRate: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0))),
  /** Train only the decoder for this many first steps (the pre-trained encoder stays fixed). */
  freezeEncoderSteps: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /** How many labeled volumes (the last ones of the set) are held out for extrapolation. */
  heldOut: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Random-init baseline only (an Encoder input fixes these): encoder width and input size. */
  width: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0))),
  inputSize: Schema.optional(PositiveInt),
  /** Loss history granularity, in steps. */
  logEvery: Schema.optional(PositiveInt)
})
export type FinetuneParams = typeof FinetuneParams.Type

const budgetOf = (p: FinetuneParams, stage: string): Effect.Effect<Budget, StageFailure> =>
  p.fraction !== undefined && p.everyK !== undefined
    ? Effect.fail(new StageFailure({ stage, reason: "both `fraction` and `everyK` are set", hint: "choose one labeling protocol per run" }))
    : Effect.succeed(p.everyK !== undefined ? { everyK: p.everyK } : { fraction: p.fraction ?? 1 })

export const finetuneStage = defineStage({
  name: "finetune",
  version: "1",
  description: "U-Net fine-tuned on a fraction (or every k-th) of the annotated slices, encoder from pre-training or random",
  source: import.meta.url,
  inputs: {
    encoder: { kind: "Encoder", optional: true, description: "pre-trained encoder; leave unwired for the random-init baseline" },
    volumes: { kind: "VolumeSet", description: "volumes with label maps" }
  },
  outputs: { segmenter: "Segmenter" },
  params: FinetuneParams,
  resources: { cpu: "all" },
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const budget = yield* budgetOf(p, ctx.stageId)
      const seed = p.seed ?? 0
      const steps = p.steps ?? 300
      const logEvery = p.logEvery ?? 10
      const compute = yield* Compute

      const set = resolveVolumeSet(ctx.inputs.volumes.dir, yield* ctx.readIndex(ctx.inputs.volumes))
      const labeled = set.volumes.filter((v) => v.entry.hasLabels)
      const setFile = join(ctx.inputs.volumes.dir, INDEX_FILE)
      if (labeled.length === 0)
        return yield* new InputError({ file: setFile, problem: "no volume has labels; fine-tuning needs label maps" })
      const split = splitVolumes(
        labeled.map((v) => v.entry.id),
        p.heldOut ?? 2
      )
      const handles = new Map<string, VolumeHandle>()
      for (const v of labeled) handles.set(v.entry.id, yield* openVolume(v.dir))
      const [, H, W] = handles.get(split.train[0])!.header.dims
      const odd = [...handles].find(([, h]) => h.header.dims[1] !== H || h.header.dims[2] !== W)
      if (odd) {
        return yield* new InputError({
          file: setFile,
          problem:
            `volume ${odd[0]} has ${odd[1].header.dims[1]}×${odd[1].header.dims[2]} slices, ` +
            `${split.train[0]} has ${H}×${W}; resize them to one size with the normalize stage's \`size\``
        })
      }
      const numClasses =
        Math.max(...Object.keys(set.index.labelNames).map(Number), ...[...handles.values()].flatMap((h) => h.header.labelIds)) + 1

      const labeling = split.train.map((id) => {
        const h = handles.get(id)!
        return { id, annotated: Array.from({ length: h.header.dims[0] }, (_, z) => h.readLabelSlice(z).some((l) => l !== 0)) }
      })
      const chosen = selectSlices(labeling, budget, seed)

      // the encoder's checkpoint fixes width, depth and input size; the baseline takes them from params
      let pretraining = "none"
      let encoderCheckpoint: string | null = null
      let spec = { architecture: DEFAULT_ARCHITECTURE, width: p.width ?? 1, depth: 1, inputSize: p.inputSize ?? H }
      const encoderRef = ctx.inputs.encoder
      if (encoderRef) {
        const enc = yield* ctx.readIndex(encoderRef)
        const checkpoint = join(encoderRef.dir, enc.model)
        const meta = yield* compute
          .checkpointMetadata(checkpoint)
          .pipe(Effect.mapError((e) => new InputError({ file: checkpoint, problem: e.message })))
        encoderCheckpoint = checkpoint
        pretraining = enc.method
        spec = { architecture: meta.architecture, width: meta.width, depth: meta.depth ?? 1, inputSize: enc.inputSize }
      }
      const size = spec.inputSize

      // the chosen slices, resized to the model's input (bilinear images, nearest labels)
      const n = chosen.length
      const pixels = new Float32Array(n * H * W)
      const classes = new Float32Array(n * H * W)
      chosen.forEach((s, i) => {
        const h = handles.get(s.volume)!
        pixels.set(h.readSlice(s.slice), i * H * W)
        classes.set(h.readLabelSlice(s.slice), i * H * W)
      })
      const resized = (data: Float32Array, method: "bilinear" | "nearest") =>
        H === size && W === size ? Effect.succeed(data) : compute.resize({ data, count: n, height: H, width: W }, size, method)
      const images = yield* resized(pixels, "bilinear")
      const labels = yield* resized(classes, "nearest")

      const config: SegmentationTaskConfig = {
        width: spec.width,
        depth: spec.depth,
        inputSize: size,
        numClasses,
        encoderCheckpoint,
        freezeEncoderSteps: p.freezeEncoderSteps ?? 0
      }
      const trainer = yield* compute
        .trainer({
          task: { module: new URL("./task.ts", import.meta.url), config },
          partitions: 2,
          optimizer: { lr: p.learningRate ?? 1e-3 },
          seed
        })
        .pipe(Effect.mapError((e) => new StageFailure({ stage: ctx.stageId, reason: `cannot start training: ${e.message}`, cause: e })))
      yield* ctx.log(
        `${trainer.backend.summary}; ${trainer.threads} worker(s); ${pretraining === "none" ? "random init" : `encoder from ${pretraining}`}`
      )

      const batchSize = p.batchSize ?? 8
      const batches = batchSampler(n, batchSize, seed)
      const pixelsPerSlice = size * size
      const history: Array<EpochRecord> = []
      let window: Array<number> = []
      let last = Number.NaN
      for (let step = 0; step < steps; step++) {
        const picked = batches()
        const inputs = new Float32Array(batchSize * pixelsPerSlice)
        const targets = new Float32Array(batchSize * pixelsPerSlice * numClasses)
        picked.forEach((slice, b) => {
          inputs.set(images.subarray(slice * pixelsPerSlice, (slice + 1) * pixelsPerSlice), b * pixelsPerSlice)
          for (let i = 0; i < pixelsPerSlice; i++) targets[(b * pixelsPerSlice + i) * numClasses + labels[slice * pixelsPerSlice + i]] = 1
        })
        const result = yield* trainer
          .step({ inputs, shape: [batchSize, size, size, 1], targets: { data: targets, shape: [batchSize, size, size, numClasses] } })
          .pipe(
            Effect.mapError(
              (e) => new StageFailure({ stage: ctx.stageId, reason: `training failed at step ${step}: ${e.message}`, cause: e })
            )
          )
        last = result.loss
        window.push(last)
        if ((step + 1) % logEvery === 0 || step === steps - 1) {
          const loss = window.reduce((a, b) => a + b, 0) / window.length
          history.push({ epoch: Math.floor(((step + 1) * batchSize) / n), step: step + 1, loss, metrics: {} })
          window = []
          yield* ctx.progress({ done: step + 1, total: steps, unit: "steps", metrics: { loss } })
        }
      }

      const architecture = `${spec.architecture}-unet`
      yield* trainer
        .save(join(ctx.outputs.segmenter, "model"), {
          architecture,
          width: spec.width,
          depth: spec.depth,
          inputSize: size,
          method: "finetune",
          settings: { pretraining, seed, ...budget }
        })
        .pipe(Effect.mapError((e) => new StageFailure({ stage: ctx.stageId, reason: `cannot save the model: ${e.message}`, cause: e })))
      yield* ctx.writeIndex("segmenter", {
        kind: "Segmenter",
        pretraining,
        architecture,
        inputSize: size,
        numClasses,
        labelNames: set.index.labelNames,
        model: "model",
        fraction: "fraction" in budget ? budget.fraction : null,
        everyK: "everyK" in budget ? budget.everyK : null,
        seed,
        trainingSlices: asSelections(chosen),
        trainVolumes: split.train,
        heldOutVolumes: split.heldOut,
        history
      })
      yield* ctx.provenance({ backend: trainer.backend.backend, workers: trainer.threads, seed, slices: n, pretraining })
      yield* ctx.log(`fine-tuned on ${n} slices (${pretraining}, seed ${seed}); final loss ${last.toFixed(4)}`)
    }).pipe(Effect.scoped)
})
