import { Effect } from "effect"
import { join } from "node:path"
import { Compute, defineStage, type EpochRecord, INDEX_FILE, InputError, StageFailure, toBudgetColumns } from "@tomoprior/core"
import { openVolume, resolveVolumeSet, type VolumeHandle } from "@tomoprior/volume"
import { batchSampler, stepBatch } from "./batches.ts"
import { FinetuneParams, PARTITIONS } from "./params.ts"
import { asSelections, heldOutSplit, selectSlices } from "./selection.ts"
import type { SegmentationTaskConfig } from "./task.ts"

/** The model zoo's encoder, which the random-init baseline uses (an Encoder input names its own). */
const DEFAULT_ARCHITECTURE = "ref-resnet"

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
      const compute = yield* Compute

      const set = resolveVolumeSet(ctx.inputs.volumes.dir, yield* ctx.readIndex(ctx.inputs.volumes))
      const labeled = set.volumes.filter((v) => v.entry.hasLabels)
      const setFile = join(ctx.inputs.volumes.dir, INDEX_FILE)
      if (labeled.length === 0)
        return yield* new InputError({ file: setFile, problem: "no volume has labels; fine-tuning needs label maps" })
      const split = heldOutSplit(
        labeled.map((v) => v.entry.id),
        p.heldOut
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
      const chosen = selectSlices(labeling, p.budget, p.seed)

      // the encoder's checkpoint fixes architecture, width, depth and input size; the baseline takes them from params
      let pretraining = "none"
      let encoderCheckpoint: string | null = null
      let spec = { architecture: DEFAULT_ARCHITECTURE, width: p.width, depth: 1, inputSize: p.inputSize ?? H }
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
        freezeEncoderSteps: p.freezeEncoderSteps
      }
      const trainer = yield* compute
        .trainer({
          task: { module: new URL("./task.ts", import.meta.url), config },
          partitions: PARTITIONS,
          optimizer: { lr: p.learningRate },
          seed: p.seed
        })
        .pipe(Effect.mapError((e) => new StageFailure({ stage: ctx.stageId, reason: `cannot start training: ${e.message}`, cause: e })))
      const start = pretraining === "none" ? "random init" : `encoder from ${pretraining}`
      yield* ctx.log(`${trainer.backend.summary}; ${trainer.threads} worker(s); ${start}`)

      const batches = batchSampler(n, p.batchSize, p.seed)
      const history: Array<EpochRecord> = []
      let window: Array<number> = []
      let last = Number.NaN
      for (let step = 0; step < p.steps; step++) {
        const { inputs, targets } = stepBatch(images, labels, batches(), size * size, numClasses)
        const result = yield* trainer
          .step({
            inputs,
            shape: [p.batchSize, size, size, 1],
            targets: { data: targets, shape: [p.batchSize, size, size, numClasses] }
          })
          .pipe(
            Effect.mapError(
              (e) => new StageFailure({ stage: ctx.stageId, reason: `training failed at step ${step}: ${e.message}`, cause: e })
            )
          )
        last = result.loss
        window.push(last)
        if ((step + 1) % p.logEvery === 0 || step === p.steps - 1) {
          const loss = window.reduce((a, b) => a + b, 0) / window.length
          history.push({ epoch: Math.floor(((step + 1) * p.batchSize) / n), step: step + 1, loss, metrics: {} })
          window = []
          yield* ctx.progress({ done: step + 1, total: p.steps, unit: "steps", metrics: { loss } })
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
          settings: { pretraining, seed: p.seed, ...p.budget }
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
        ...toBudgetColumns(p.budget),
        seed: p.seed,
        trainingSlices: asSelections(chosen),
        trainVolumes: split.train,
        heldOutVolumes: split.heldOut,
        history
      })
      yield* ctx.provenance({ backend: trainer.backend.backend, workers: trainer.threads, seed: p.seed, slices: n, pretraining })
      yield* ctx.log(`fine-tuned on ${n} slices (${pretraining}, seed ${p.seed}); final loss ${last.toFixed(4)}`)
    }).pipe(Effect.scoped)
})
