/**
 * Streaming intensity statistics in float64. Float and 32-bit slices contribute their own mean and
 * sum of squared deviations — one pass of sums shifted by the slice's first value, which keeps
 * cancellation small — merged with Chan et al.'s formula. 8- and 16-bit slices only bump a
 * 65,536-bin histogram (one increment per voxel, the cheap path for large CT/synchrotron stacks),
 * whose exact moments are merged in at the end.
 */
export interface IntensityStats {
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly std: number
}

interface Moments {
  n: number
  mean: number
  m2: number
  min: number
  max: number
}

const merge = (a: Moments, n: number, mean: number, m2: number, min: number, max: number): void => {
  if (n === 0) return
  const total = a.n + n
  const delta = mean - a.mean
  a.mean += (delta * n) / total
  a.m2 += m2 + (delta * delta * a.n * n) / total
  a.n = total
  if (min < a.min) a.min = min
  if (max > a.max) a.max = max
}

const INT16_OFFSET = 32768

export class StatsAccumulator {
  private readonly moments: Moments = { n: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity }
  /** Counts per value; uint8/uint16 at their value, int16 at value + 32768 (separate tables). */
  private unsignedHist: Float64Array | undefined
  private signedHist: Float64Array | undefined

  add(values: ArrayLike<number>, length = values.length): void {
    if (length === 0) return
    if (values instanceof Uint16Array || values instanceof Uint8Array) {
      const h = (this.unsignedHist ??= new Float64Array(65536))
      for (let i = 0; i < length; i++) h[values[i]]++
      return
    }
    if (values instanceof Int16Array) {
      const h = (this.signedHist ??= new Float64Array(65536))
      for (let i = 0; i < length; i++) h[values[i] + INT16_OFFSET]++
      return
    }
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
    merge(this.moments, length, shift + sum / length, Math.max(0, sumSq - (sum * sum) / length), lo, hi)
  }

  result(): IntensityStats {
    const m = { ...this.moments }
    for (const [hist, offset] of [
      [this.unsignedHist, 0],
      [this.signedHist, INT16_OFFSET]
    ] as const) {
      if (!hist) continue
      let n = 0
      let sum = 0
      let lo = Infinity
      let hi = -Infinity
      for (let b = 0; b < hist.length; b++) {
        if (hist[b] === 0) continue
        const v = b - offset
        n += hist[b]
        sum += hist[b] * v
        if (v < lo) lo = v
        hi = v
      }
      if (n === 0) continue
      const mean = sum / n
      let m2 = 0
      for (let b = 0; b < hist.length; b++) if (hist[b] !== 0) m2 += hist[b] * (b - offset - mean) ** 2
      merge(m, n, mean, m2, lo, hi)
    }
    if (m.n === 0) return { min: 0, max: 0, mean: 0, std: 0 }
    return { min: m.min, max: m.max, mean: m.mean, std: Math.sqrt(m.m2 / m.n) }
  }
}
