import { Effect } from "effect"
import type { MetricRow, MetricVolumeRow, SegmenterIndex } from "@tomoprior/core"
import { accumulate, classScores, emptyConfusion } from "./metrics.ts"

/** The part of a stored volume evaluation needs (a `VolumeHandle` of @tomoprior/volume fits). */
export interface LabeledVolume {
  readonly id: string
  /** [z, y, x] voxel counts. */
  readonly dims: readonly [number, number, number]
  readonly readSlice: (z: number) => Float32Array
  readonly readLabelSlice: (z: number) => ArrayLike<number>
}

/** Class ids per pixel for a batch of height × width slices, in the slices' own size. */
export type Predict<E> = (
  slices: ReadonlyArray<Float32Array>,
  height: number,
  width: number
) => Effect.Effect<ReadonlyArray<ArrayLike<number>>, E>

export type Split = MetricRow["split"]

/** The slice of a split with the most labeled foreground, kept to be drawn in the report. */
export interface ExampleSlice {
  readonly split: Split
  readonly volume: string
  readonly slice: number
  readonly height: number
  readonly width: number
  readonly image: Float32Array
  readonly truth: Uint8Array
  readonly predicted: Uint8Array
}

export interface SegmenterEvaluation {
  readonly rows: ReadonlyArray<MetricRow>
  /** The same scores per volume of each split (`rows` pools the volumes). */
  readonly volumeRows: ReadonlyArray<MetricVolumeRow>
  readonly examples: ReadonlyArray<ExampleSlice>
  readonly slices: Readonly<Record<Split, number>>
}

/**
 * Which slices each split scores: "interpolation" = every slice of a training volume that was not
 * seen with labels; "extrapolation" = every slice of the held-out volumes.
 */
export const splitSlices = (
  seg: SegmenterIndex,
  depthOf: (volume: string) => number
): ReadonlyArray<{ readonly split: Split; readonly volume: string; readonly slices: ReadonlyArray<number> }> => {
  const seen = new Map(seg.trainingSlices.map((s) => [s.volume, new Set(s.slices)]))
  const all = (v: string) => Array.from({ length: depthOf(v) }, (_, z) => z)
  return [
    ...seg.trainVolumes.map((v) => ({ split: "interpolation" as const, volume: v, slices: all(v).filter((z) => !seen.get(v)?.has(z)) })),
    ...seg.heldOutVolumes.map((v) => ({ split: "extrapolation" as const, volume: v, slices: all(v) }))
  ]
}

const foregroundCount = (labels: ArrayLike<number>): number => {
  let n = 0
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) n++
  return n
}

/**
 * Scores one segmenter on both splits, pooling confusion counts over every slice of a split.
 * Slices go through `predict` in batches of `batchSize`. What `predict` fails with, or reading a
 * slice throws, is the failure.
 */
export const evaluateSegmenter = <E>(
  seg: SegmenterIndex,
  volumes: ReadonlyMap<string, LabeledVolume>,
  predict: Predict<E>,
  batchSize: number
): Effect.Effect<SegmenterEvaluation, E | unknown> =>
  Effect.gen(function* () {
    const depthOf = (id: string) => volumes.get(id)!.dims[0]
    const confusion = { interpolation: emptyConfusion(seg.numClasses), extrapolation: emptyConfusion(seg.numClasses) }
    const slices = { interpolation: 0, extrapolation: 0 }
    const best = new Map<Split, { fg: number; example: ExampleSlice }>()
    const perVolume: Array<{ split: Split; volume: string; confusion: ReturnType<typeof emptyConfusion> }> = []
    for (const part of splitSlices(seg, depthOf)) {
      const volume = volumes.get(part.volume)!
      const own = { split: part.split, volume: part.volume, confusion: emptyConfusion(seg.numClasses) }
      if (part.slices.length > 0) perVolume.push(own)
      for (let start = 0; start < part.slices.length; start += batchSize) {
        // Inference is synchronous: a timer turn between batches lets a Ctrl-C (a signal event)
        // interrupt a large VolumeSet here instead of after every segmenter is done.
        yield* Effect.sleep(0)
        const zs = part.slices.slice(start, start + batchSize)
        const images = yield* Effect.try({ try: () => zs.map((z) => volume.readSlice(z).slice()), catch: (e) => e })
        const predicted = yield* predict(images, volume.dims[1], volume.dims[2])
        zs.forEach((z, i) => {
          const truth = Uint8Array.from(volume.readLabelSlice(z))
          accumulate(confusion[part.split], truth, predicted[i])
          accumulate(own.confusion, truth, predicted[i])
          slices[part.split] += 1
          const fg = foregroundCount(truth)
          const current = best.get(part.split)
          if (!current || fg > current.fg) {
            best.set(part.split, {
              fg,
              example: {
                split: part.split,
                volume: part.volume,
                slice: z,
                height: volume.dims[1],
                width: volume.dims[2],
                image: images[i],
                truth,
                predicted: Uint8Array.from(predicted[i])
              }
            })
          }
        })
      }
    }
    const rows: Array<MetricRow> = []
    for (const split of ["interpolation", "extrapolation"] as const) {
      if (slices[split] === 0) continue
      for (const s of classScores(confusion[split])) {
        rows.push({
          pretraining: seg.pretraining,
          fraction: seg.fraction,
          everyK: seg.everyK,
          seed: seg.seed,
          split,
          classId: s.classId,
          className: seg.labelNames[String(s.classId)] ?? `class ${s.classId}`,
          iou: s.iou,
          dice: s.dice
        })
      }
    }
    const volumeRows: Array<MetricVolumeRow> = perVolume.flatMap(({ split, volume, confusion }) =>
      classScores(confusion).map((c) => ({
        pretraining: seg.pretraining,
        fraction: seg.fraction,
        everyK: seg.everyK,
        seed: seg.seed,
        split,
        volume,
        classId: c.classId,
        className: seg.labelNames[String(c.classId)] ?? `class ${c.classId}`,
        iou: c.iou,
        dice: c.dice
      }))
    )
    return { rows, volumeRows, examples: [...best.values()].map((b) => b.example), slices }
  })
