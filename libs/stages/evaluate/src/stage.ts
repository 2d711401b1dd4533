import { Effect, Schema } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import {
  defineStage,
  INDEX_FILE,
  InputError,
  type MetricRow,
  type MetricsIndex,
  readArtifactIndex,
  type SegmentationExample,
  SegmenterIndex,
  StageFailure
} from "@tomoprior/core"
import { evaluateSegmenter, type LabeledVolume, type Predict } from "./evaluate.ts"
import { overlayPng } from "./overlay.ts"
import { summarize, toCsv } from "./summary.ts"

const CSV_COLUMNS = ["pretraining", "fraction", "everyK", "seed", "split", "classId", "className", "iou", "dice"] as const

/** Groups of runs that differ only by seed; examples are drawn for the lowest seed of each. */
const groupKey = (s: SegmenterIndex): string => JSON.stringify([s.pretraining, s.fraction, s.everyK])

export const evaluateStage = defineStage({
  name: "evaluate",
  version: "1",
  description: "Per-class IoU/Dice of segmenters on unlabeled training slices (interpolation) and held-out volumes (extrapolation)",
  source: import.meta.url,
  inputs: {
    segmenters: { kind: "Segmenter", many: true, description: "every fine-tuned model to score (e.g. a whole fraction × seed matrix)" },
    volumes: { kind: "VolumeSet", description: "the labeled volumes the segmenters were trained on" }
  },
  outputs: { metrics: "Metrics" },
  params: Schema.Struct({
    batchSize: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
    /** Example slices drawn per (pre-training, budget): the best-labeled slice of each split, lowest seed. */
    examples: Schema.optional(Schema.Boolean)
  }),
  resources: { cpu: "all" },
  run: (ctx) =>
    Effect.gen(function* () {
      const batchSize = ctx.params.batchSize ?? 16
      const drawExamples = ctx.params.examples ?? true
      const compute = yield* Effect.promise(() => import("@tomoprior/compute"))
      const volume = yield* Effect.promise(() => import("@tomoprior/volume"))
      const tf = yield* Effect.promise(() => import("@tensorflow/tfjs-core"))
      const backend = yield* compute.initBackend(ctx.compute, { log: () => {} })
      yield* ctx.provenance({ backend: backend.backend, tfjs: backend.version })

      const set = yield* volume.readVolumeSet(ctx.inputs.volumes.dir)
      const handles = new Map<string, LabeledVolume>()
      for (const v of set.volumes) {
        if (!v.entry.hasLabels) continue
        const h = yield* volume.openVolume(v.dir)
        handles.set(v.entry.id, {
          id: v.entry.id,
          dims: h.header.dims,
          readSlice: (z) => h.readSlice(z),
          readLabelSlice: (z) => h.readLabelSlice(z)
        })
      }

      const segmenters = yield* Effect.forEach(ctx.inputs.segmenters, (ref) =>
        Effect.map(readArtifactIndex(ref.dir, "Segmenter", SegmenterIndex), (index) => ({ ref, index }))
      )
      const lowestSeed = new Map<string, number>()
      for (const { index } of segmenters) lowestSeed.set(groupKey(index), Math.min(index.seed, lowestSeed.get(groupKey(index)) ?? Infinity))

      const rows: Array<MetricRow> = []
      const examples: Array<SegmentationExample> = []
      const out = ctx.outputs.metrics
      for (const [n, { ref, index }] of segmenters.entries()) {
        const missing = [...index.trainVolumes, ...index.heldOutVolumes].filter((id) => !handles.has(id))
        if (missing.length > 0) {
          return yield* new InputError({
            file: join(ctx.inputs.volumes.dir, INDEX_FILE),
            problem: `segmenter ${ref.producer} was trained on volumes ${missing.join(", ")}, which this VolumeSet lacks or has without labels`
          })
        }
        const { model } = yield* compute
          .loadCheckpoint(join(ref.dir, index.model))
          .pipe(Effect.mapError((e) => new InputError({ file: join(ref.dir, index.model), problem: e.message })))
        // The model sees inputSize² slices; its logits are resized back so scores use the stored labels.
        const predict: Predict = (slices, H, W) =>
          tf.tidy(() => {
            const pixels = new Float32Array(slices.length * H * W)
            slices.forEach((s, i) => pixels.set(s, i * H * W))
            const batch = tf.tensor4d(pixels, [slices.length, H, W, 1])
            const input =
              H === index.inputSize && W === index.inputSize ? batch : tf.image.resizeBilinear(batch, [index.inputSize, index.inputSize])
            let logits = model.predict(input) as typeof batch
            if (H !== index.inputSize || W !== index.inputSize) logits = tf.image.resizeBilinear(logits, [H, W])
            const classes = tf.argMax(logits, -1).dataSync()
            return slices.map((_, i) => Uint8Array.from(classes.subarray(i * H * W, (i + 1) * H * W)))
          })
        const result = yield* evaluateSegmenter(index, handles, predict, batchSize).pipe(
          Effect.mapError((e) =>
            e instanceof InputError
              ? e
              : new StageFailure({ stage: ctx.stageId, reason: `inference failed for ${ref.producer}: ${String(e)}`, cause: e })
          )
        )
        model.dispose()
        rows.push(...result.rows)
        if (drawExamples && lowestSeed.get(groupKey(index)) === index.seed) {
          for (const e of result.examples) {
            const png = `examples/${examples.length}.png`
            yield* Effect.promise(() => mkdir(join(out, "examples"), { recursive: true }))
            yield* Effect.promise(() => writeFile(join(out, png), overlayPng(e.image, e.truth, e.predicted, e.height, e.width)))
            examples.push({
              pretraining: index.pretraining,
              fraction: index.fraction,
              everyK: index.everyK,
              seed: index.seed,
              split: e.split,
              volume: e.volume,
              slice: e.slice,
              png
            })
          }
        }
        yield* ctx.progress({
          done: n + 1,
          total: segmenters.length,
          unit: "segmenters",
          message: `${index.pretraining} ${index.fraction ?? `every ${index.everyK}`} seed ${index.seed}`
        })
      }
      const metrics: MetricsIndex = { kind: "Metrics", rows, summary: summarize(rows), examples, csv: "metrics.csv" }
      yield* Effect.promise(() => writeFile(join(out, "metrics.csv"), toCsv(rows, CSV_COLUMNS)))
      yield* Effect.promise(() => writeFile(join(out, INDEX_FILE), JSON.stringify(metrics, null, 1)))
    }).pipe(Effect.scoped)
})
