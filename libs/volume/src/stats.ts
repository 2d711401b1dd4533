/**
 * Streaming intensity statistics in float64. Each slice contributes its own mean and sum of squared
 * deviations — one pass of sums shifted by the slice's first value, which keeps cancellation small —
 * merged with Chan et al.'s formula, so the result does not suffer the cancellation of a naive
 * sum-of-squares on large volumes with a large mean.
 */
export interface IntensityStats {
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly std: number
}

export class StatsAccumulator {
  private n = 0
  private mean = 0
  private m2 = 0
  private min = Infinity
  private max = -Infinity

  add(values: ArrayLike<number>, length = values.length): void {
    if (length === 0) return
    const shift = values[0]
    let sum = 0
    let sumSq = 0
    let lo = Infinity
    let hi = -Infinity
    for (let i = 0; i < length; i++) {
      const v = values[i]
      const d = v - shift
      sum += d
      sumSq += d * d
      if (v < lo) lo = v
      if (v > hi) hi = v
    }
    const mean = shift + sum / length
    const m2 = Math.max(0, sumSq - (sum * sum) / length)
    const n = this.n + length
    const delta = mean - this.mean
    this.mean += (delta * length) / n
    this.m2 += m2 + (delta * delta * this.n * length) / n
    this.n = n
    if (lo < this.min) this.min = lo
    if (hi > this.max) this.max = hi
  }

  get count(): number {
    return this.n
  }

  result(): IntensityStats {
    if (this.n === 0) return { min: 0, max: 0, mean: 0, std: 0 }
    return { min: this.min, max: this.max, mean: this.mean, std: Math.sqrt(this.m2 / this.n) }
  }
}
