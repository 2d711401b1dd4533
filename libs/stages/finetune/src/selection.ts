import type { LabelBudget, SliceSelection } from "@tomoprior/core"
import { makeRng } from "@tomoprior/augment"

/** What each training volume offers: which of its slices carry any foreground label. */
export interface VolumeLabeling {
  readonly id: string
  /** annotated[z] = slice z has at least one non-background pixel. */
  readonly annotated: ReadonlyArray<boolean>
}

export interface TrainingSlice {
  readonly volume: string
  readonly slice: number
}

/** Share of empty slices added to the sampled annotated ones (the authors' resampling dataset). */
export const EMPTY_SHARE = 0.1

/**
 * The labeled slices fine-tuning may use (labels are never interpolated).
 * - `fraction`: a seeded random `fraction` of all annotated slices of the training volumes (at
 *   least one), plus round(10 %) of that number of empty slices.
 * - `everyK`: slices 0, k, 2k… of every training volume, annotated or empty (regular spacing).
 */
export const selectSlices = (volumes: ReadonlyArray<VolumeLabeling>, budget: LabelBudget, seed: number): ReadonlyArray<TrainingSlice> => {
  if ("everyK" in budget) {
    return volumes.flatMap((v) => v.annotated.flatMap((_, z) => (z % budget.everyK === 0 ? [{ volume: v.id, slice: z }] : [])))
  }
  const annotated: Array<TrainingSlice> = []
  const empty: Array<TrainingSlice> = []
  for (const v of volumes) v.annotated.forEach((a, z) => (a ? annotated : empty).push({ volume: v.id, slice: z }))
  const rng = makeRng(seed)
  const count = Math.max(1, Math.round(budget.fraction * annotated.length))
  const picked = rng.shuffle(annotated).slice(0, Math.min(count, annotated.length))
  const extra = rng.shuffle(empty).slice(0, Math.round(EMPTY_SHARE * picked.length))
  return [...picked, ...extra].sort((a, b) => (a.volume === b.volume ? a.slice - b.slice : a.volume < b.volume ? -1 : 1))
}

/** Groups chosen slices per volume, in the SegmenterIndex shape. */
export const asSelections = (slices: ReadonlyArray<TrainingSlice>): ReadonlyArray<SliceSelection> => {
  const byVolume = new Map<string, Array<number>>()
  for (const s of slices) byVolume.set(s.volume, [...(byVolume.get(s.volume) ?? []), s.slice])
  return [...byVolume].map(([volume, zs]) => ({ volume, slices: zs }))
}

/**
 * Training vs held-out volumes: the last `heldOut` labeled volumes (in set order) are held out,
 * the same for every seed and fraction so all runs are scored on the same volumes.
 */
export const heldOutSplit = (labeled: ReadonlyArray<string>, heldOut: number): { train: Array<string>; heldOut: Array<string> } => {
  const n = Math.min(heldOut, Math.max(0, labeled.length - 1))
  return { train: labeled.slice(0, labeled.length - n), heldOut: labeled.slice(labeled.length - n) }
}
