/**
 * Segmentation metrics. Counts are accumulated over every evaluated slice first and the ratios are
 * taken once at the end (as the authors' batch-wise Catalyst meters do), so a class that appears on a
 * few slices is weighted by its pixels, not by how many slices it touches.
 */

/** Per-class true positive, false positive and false negative pixel counts. */
export interface Confusion {
  readonly numClasses: number
  readonly tp: Float64Array
  readonly fp: Float64Array
  readonly fn: Float64Array
}

export const emptyConfusion = (numClasses: number): Confusion => ({
  numClasses,
  tp: new Float64Array(numClasses),
  fp: new Float64Array(numClasses),
  fn: new Float64Array(numClasses)
})

/** Adds one slice (or any batch of pixels) of truth/prediction class ids to `acc`, in place. */
export const accumulate = (acc: Confusion, truth: ArrayLike<number>, predicted: ArrayLike<number>): Confusion => {
  if (truth.length !== predicted.length) {
    throw new RangeError(`truth has ${truth.length} pixels but prediction has ${predicted.length}`)
  }
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]
    const p = predicted[i]
    if (t === p) acc.tp[t] += 1
    else {
      acc.fn[t] += 1
      acc.fp[p] += 1
    }
  }
  return acc
}

export interface ClassScore {
  readonly classId: number
  readonly iou: number
  readonly dice: number
}

/**
 * IoU = tp / (tp + fp + fn), Dice = 2tp / (2tp + fp + fn) per class. A class absent from both truth
 * and prediction has no defined score and is left out (not counted as a perfect 1), so it cannot
 * inflate a mean.
 */
export const classScores = (acc: Confusion): ReadonlyArray<ClassScore> => {
  const out: Array<ClassScore> = []
  for (let c = 0; c < acc.numClasses; c++) {
    const tp = acc.tp[c]
    const wrong = acc.fp[c] + acc.fn[c]
    if (tp + wrong === 0) continue
    out.push({ classId: c, iou: tp / (tp + wrong), dice: (2 * tp) / (2 * tp + wrong) })
  }
  return out
}

export interface MeanStd {
  readonly mean: number
  readonly std: number
  readonly n: number
}

/** Mean and the sample standard deviation (n − 1 denominator; 0 for a single value). */
export const meanStd = (values: ReadonlyArray<number>): MeanStd => {
  const n = values.length
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n }
  const mean = values.reduce((s, v) => s + v, 0) / n
  if (n === 1) return { mean, std: 0, n }
  const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0)
  return { mean, std: Math.sqrt(ss / (n - 1)), n }
}
