import { Effect } from "effect"
import { join } from "node:path"
import {
  BackendUnavailable,
  budgetLabel,
  Compute,
  type ComputeError,
  defineStage,
  differenceDesign,
  differenceText,
  INDEX_FILE,
  InputError,
  type MetricRow,
  type MetricVolumeRow,
  type SegmentationExample,
  type SegmenterIndex,
  StageFailure
} from "@tomoprior/core"
import { openVolume, resolveVolumeSet } from "@tomoprior/volume"
import { pairedDifferences, volumeScores } from "./differences.ts"
import { evaluateSegmenter, type LabeledVolume, type Predict } from "./evaluate.ts"
import { overlayPng } from "./overlay.ts"
import { EvaluateParams } from "./params.ts"
import { summarize, toCsv } from "./summary.ts"

const CSV_COLUMNS = ["pretraining", "fraction", "everyK", "seed", "split", "classId", "className", "iou", "dice"] as const
const VOLUME_CSV_COLUMNS = ["pretraining", "fraction", "everyK", "seed", "split", "volume", "classId", "className", "iou", "dice"] as const

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
  params: EvaluateParams,
  resources: { cpu: "all" },
  run: (ctx) =>
    Effect.gen(function* () {
      const { batchSize, examples: drawExamples } = ctx.params
      const compute = yield* Compute
      const backend = yield* compute.backend
      yield* ctx.log(backend.summary)
      yield* ctx.provenance({ backend: backend.backend, tfjs: backend.version })

      const set = resolveVolumeSet(ctx.inputs.volumes.dir, yield* ctx.readIndex(ctx.inputs.volumes))
      const handles = new Map<string, LabeledVolume>()
      for (const v of set.volumes) {
        if (!v.entry.hasLabels) continue
        const h = yield* openVolume(v.dir)
        handles.set(v.entry.id, {
          id: v.entry.id,
          dims: h.header.dims,
          readSlice: (z) => h.readSlice(z),
          readLabelSlice: (z) => h.readLabelSlice(z)
        })
      }

      const segmenters = yield* Effect.forEach(ctx.inputs.segmenters, (ref) => Effect.map(ctx.readIndex(ref), (index) => ({ ref, index })))
      const lowestSeed = new Map<string, number>()
      for (const { index } of segmenters) lowestSeed.set(groupKey(index), Math.min(index.seed, lowestSeed.get(groupKey(index)) ?? Infinity))

      const rows: Array<MetricRow> = []
      const volumeRows: Array<MetricVolumeRow> = []
      const examples: Array<SegmentationExample> = []
      for (const [n, { ref, index }] of segmenters.entries()) {
        const missing = [...index.trainVolumes, ...index.heldOutVolumes].filter((id) => !handles.has(id))
        if (missing.length > 0) {
          return yield* new InputError({
            file: join(ctx.inputs.volumes.dir, INDEX_FILE),
            problem:
              `segmenter ${ref.producer} was trained on volumes ${missing.join(", ")}, ` +
              "which this VolumeSet lacks or has without labels"
          })
        }
        const modelDir = join(ref.dir, index.model)
        const result = yield* Effect.scoped(
          Effect.gen(function* () {
            const model = yield* compute
              .segmentationModel(modelDir, index.inputSize)
              .pipe(Effect.mapError((e) => (e._tag === "CheckpointError" ? new InputError({ file: modelDir, problem: e.message }) : e)))
            const predict: Predict<ComputeError> = (slices, height, width) =>
              Effect.map(model.classes({ data: concatSlices(slices, height * width), count: slices.length, height, width }), (classes) =>
                slices.map((_, i) => classes.subarray(i * height * width, (i + 1) * height * width))
              )
            return yield* evaluateSegmenter(index, handles, predict, batchSize)
          })
        ).pipe(
          Effect.mapError((e) =>
            e instanceof InputError || e instanceof BackendUnavailable
              ? e
              : new StageFailure({ stage: ctx.stageId, reason: `inference failed for ${ref.producer}: ${String(e)}`, cause: e })
          )
        )
        rows.push(...result.rows)
        volumeRows.push(...result.volumeRows)
        if (drawExamples && lowestSeed.get(groupKey(index)) === index.seed) {
          for (const e of result.examples) {
            const png = `examples/${examples.length}.png`
            yield* ctx.writeFile("metrics", png, overlayPng(e.image, e.truth, e.predicted, e.height, e.width))
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
          message: `${index.pretraining} ${budgetLabel(index)} seed ${index.seed}`
        })
      }
      const differences = pairedDifferences(volumeScores(volumeRows))
      for (const d of differences.filter((x) => x.split === "extrapolation"))
        yield* ctx.log(
          `held-out, ${budgetLabel(d)}: ${differenceText(d)} IoU ×100, ${differenceDesign(d)}${d.excludesZero ? "" : " (includes 0)"}`
        )
      yield* ctx.writeFile("metrics", "metrics.csv", toCsv(rows, CSV_COLUMNS))
      yield* ctx.writeFile("metrics", "volumes.csv", toCsv(volumeRows, VOLUME_CSV_COLUMNS))
      yield* ctx.writeIndex("metrics", {
        kind: "Metrics",
        rows,
        summary: summarize(rows),
        volumeRows,
        differences,
        examples,
        csv: "metrics.csv"
      })
    }).pipe(Effect.scoped)
})

/** One Float32Array of same-size slices, in order. */
const concatSlices = (slices: ReadonlyArray<Float32Array>, pixels: number): Float32Array => {
  const out = new Float32Array(slices.length * pixels)
  slices.forEach((s, i) => out.set(s, i * pixels))
  return out
}
