import { makeRng } from "@tomoprior/augment"

/** A mean with its percentile bootstrap confidence interval. */
export interface Interval {
  readonly mean: number
  readonly low: number
  readonly high: number
  /** e.g. 0.95 */
  readonly level: number
  /** Rows (seeds) and columns (volumes) that had at least one value. */
  readonly rows: number
  readonly columns: number
}

export interface BootstrapOptions {
  /** Resamples drawn (default 10 000). */
  readonly replicates?: number
  /** Seed of the resampling, so a report shows the same interval every time (default 0). */
  readonly seed?: number
  /** Coverage (default 0.95). */
  readonly level?: number
}

/** The q-quantile of sorted values as the smallest value whose empirical CDF reaches q. */
const quantileOfSorted = (sorted: Float64Array, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]

/**
 * Percentile bootstrap interval of the grand mean of a crossed design: `grid[r][c]` is the value
 * of row r (a seed) at column c (a held-out volume); `undefined` marks a missing cell. Each
 * replicate resamples the rows and, independently, the columns with replacement and averages
 * every cell of the resampled grid that has a value, so both the variation between training runs
 * and the variation between volumes widen the interval (resampling cells one by one would treat
 * the same volume seen by every seed as independent evidence). With one row (or one column) that
 * side contributes nothing: the interval is over the other alone.
 */
export const crossedBootstrap = (grid: ReadonlyArray<ReadonlyArray<number | undefined>>, options: BootstrapOptions = {}): Interval => {
  const replicates = options.replicates ?? 10_000
  const level = options.level ?? 0.95
  const rows = grid.filter((r) => r.some((v) => v !== undefined))
  const width = Math.max(0, ...rows.map((r) => r.length))
  const columns = Array.from({ length: width }, (_, c) => c).filter((c) => rows.some((r) => r[c] !== undefined))
  const cells = rows.map((r) => columns.map((c) => r[c]))
  const R = rows.length
  const C = columns.length
  if (R === 0 || C === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN, level, rows: R, columns: C }

  const average = (rowIdx: ArrayLike<number>, colIdx: ArrayLike<number>): number => {
    let sum = 0
    let n = 0
    for (let i = 0; i < rowIdx.length; i++) {
      const row = cells[rowIdx[i]]
      for (let j = 0; j < colIdx.length; j++) {
        const v = row[colIdx[j]]
        if (v !== undefined) {
          sum += v
          n++
        }
      }
    }
    return n > 0 ? sum / n : Number.NaN
  }
  const identity = (n: number) => Uint32Array.from({ length: n }, (_, i) => i)
  const mean = average(identity(R), identity(C))

  const rng = makeRng(options.seed ?? 0)
  const rowIdx = new Uint32Array(R)
  const colIdx = new Uint32Array(C)
  const stats: Array<number> = []
  for (let b = 0; b < replicates; b++) {
    for (let i = 0; i < R; i++) rowIdx[i] = rng.int(R)
    for (let j = 0; j < C; j++) colIdx[j] = rng.int(C)
    const s = average(rowIdx, colIdx)
    // A resample can miss every present cell of a sparse grid; it says nothing about the mean.
    if (!Number.isNaN(s)) stats.push(s)
  }
  const sorted = Float64Array.from(stats).sort()
  const tail = (1 - level) / 2
  return { mean, low: quantileOfSorted(sorted, tail), high: quantileOfSorted(sorted, 1 - tail), level, rows: R, columns: C }
}

/** Whether an interval lies wholly on one side of zero: the difference it bounds is resolved. */
export const excludesZero = (i: Pick<Interval, "low" | "high">): boolean => i.low > 0 || i.high < 0
