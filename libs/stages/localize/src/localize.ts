/**
 * Label-free localization along the scan axis from per-slice scores (method.md §4). Intervals are
 * inclusive slice indices [first, last].
 */

export type SliceInterval = readonly [number, number]

/** Ranks 1..n; tied values share the mean of the ranks they occupy. */
export const averageRanks = (values: ReadonlyArray<number>): Float64Array => {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0])
  const ranks = new Float64Array(values.length)
  for (let i = 0; i < order.length;) {
    let j = i
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++
    const rank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) ranks[order[k][1]] = rank
    i = j + 1
  }
  return ranks
}

const pearson = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const n = a.length
  let ma = 0
  let mb = 0
  for (let i = 0; i < n; i++) {
    ma += a[i]
    mb += b[i]
  }
  ma /= n
  mb /= n
  let sab = 0
  let saa = 0
  let sbb = 0
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb)
    saa += (a[i] - ma) ** 2
    sbb += (b[i] - mb) ** 2
  }
  return sab / Math.sqrt(saa * sbb)
}

/**
 * Spearman's rho with ties (Pearson correlation of average ranks). A constant sequence has no
 * order to correlate and gives 0 rather than NaN so it can be stored and averaged.
 */
export const spearman = (x: ReadonlyArray<number>, y: ReadonlyArray<number>): number => {
  if (x.length !== y.length) throw new RangeError(`spearman: lengths differ (${x.length} vs ${y.length})`)
  if (x.length < 2) return 0
  const r = pearson(averageRanks(x), averageRanks(y))
  return Number.isFinite(r) ? r : 0
}

/**
 * Isotonic (non-decreasing) least-squares fit of a sequence, by pool-adjacent-violators. Slice
 * scores of a good sorter rise along the axis; the fit removes the local wiggles that would
 * split a score range into fragments, without assuming any shape beyond monotonicity.
 */
export const isotonic = (values: ReadonlyArray<number>): Array<number> => {
  const means: Array<number> = []
  const sizes: Array<number> = []
  for (const v of values) {
    means.push(v)
    sizes.push(1)
    while (means.length > 1 && means[means.length - 2] > means[means.length - 1]) {
      const n = sizes[sizes.length - 2] + sizes[sizes.length - 1]
      const m = (means[means.length - 2] * sizes[sizes.length - 2] + means[means.length - 1] * sizes[sizes.length - 1]) / n
      means.splice(-2, 2, m)
      sizes.splice(-2, 2, n)
    }
  }
  return means.flatMap((m, i) => new Array<number>(sizes[i]).fill(m))
}

const length = (a: SliceInterval): number => a[1] - a[0] + 1

/** |A ∩ B| / |A ∪ B| counted in slices. */
export const intervalIoU = (a: SliceInterval, b: SliceInterval): number => {
  const inter = Math.max(0, Math.min(a[1], b[1]) - Math.max(a[0], b[0]) + 1)
  return inter / (length(a) + length(b) - inter)
}

/** The longest run of consecutive indices where `keep` holds (the first one on ties), or null. */
export const longestRun = (n: number, keep: (i: number) => boolean): SliceInterval | null => {
  let best: SliceInterval | null = null
  let start = -1
  for (let i = 0; i <= n; i++) {
    if (i < n && keep(i)) {
      if (start < 0) start = i
    } else if (start >= 0) {
      if (!best || i - start > length(best)) best = [start, i - 1]
      start = -1
    }
  }
  return best
}

/**
 * Score-range localizer: the organ occupies `organ` in the reference volume; the query slices
 * whose score lies between the reference scores at the organ's two ends form the prediction, and
 * the largest connected run of them is kept.
 */
export const scoreRangeLocalize = (
  referenceScores: ReadonlyArray<number>,
  organ: SliceInterval,
  queryScores: ReadonlyArray<number>
): SliceInterval | null => {
  const a = referenceScores[organ[0]]
  const b = referenceScores[organ[1]]
  const lo = Math.min(a, b)
  const hi = Math.max(a, b)
  return longestRun(queryScores.length, (i) => queryScores[i] >= lo && queryScores[i] <= hi)
}

/**
 * Proportional baseline: the same relative position. Slice i covers [i, i + 1) of its volume, so
 * the interval [f, t] of an n-slice reference covers [f/n, (t+1)/n) of the axis.
 */
export const proportionalInterval = (organ: SliceInterval, referenceLength: number, queryLength: number): SliceInterval => {
  const scale = queryLength / referenceLength
  const first = Math.min(queryLength - 1, Math.round(organ[0] * scale))
  const last = Math.max(first, Math.min(queryLength - 1, Math.round((organ[1] + 1) * scale) - 1))
  return [first, last]
}

/** Slice interval where `labels[i]` says the label is present, or null when it never is. */
export const presentInterval = (present: ReadonlyArray<boolean>): SliceInterval | null => {
  const first = present.indexOf(true)
  return first < 0 ? null : [first, present.lastIndexOf(true)]
}

export interface BlockMatch {
  readonly offset: number
  /** Score map block ≈ scale · reference[offset …] + shift at that offset (1 and 0 unless fitted). */
  readonly scale: number
  readonly shift: number
  /** Mean squared difference after the map. */
  readonly residual: number
}

/**
 * Locates a partial scan (a block of consecutive slice scores) inside a full reference volume by
 * least squares over offsets (the first best offset wins).
 * - `identity` (default): scores compared as they are — one encoder scores both volumes, so they
 *   share a scale; this is what the score-range localizer assumes too.
 * - `affine`: fit block ≈ scale · reference + shift per offset (scale ≥ 0, a negative one would match
 *   the anatomy backwards). Absorbs calibration differences, but where the score profile is locally
 *   linear every offset fits equally well, so it only helps on strongly curved profiles.
 */
export const locateBlock = (
  block: ReadonlyArray<number>,
  reference: ReadonlyArray<number>,
  map: ScoreMap = "identity"
): BlockMatch | null => {
  const m = block.length
  if (m < 2 || m > reference.length) return null
  let best: BlockMatch | null = null
  for (let o = 0; o + m <= reference.length; o++) {
    const fit = fitScoreMap(
      m,
      (i) => block[i],
      (i) => reference[o + i],
      map
    )
    if (!best || fit.residual < best.residual - 1e-12) best = { offset: o, ...fit }
  }
  return best
}

export type ScoreMap = "identity" | "affine"

/**
 * Least-squares fit of y ≈ scale · x + shift over n paired values (scale ≥ 0: a negative one would
 * match the anatomy backwards); `identity` keeps scale 1, shift 0 and only measures the residual.
 */
export const fitScoreMap = (
  n: number,
  y: (i: number) => number,
  x: (i: number) => number,
  map: ScoreMap
): { readonly scale: number; readonly shift: number; readonly residual: number } => {
  let scale = 1
  let shift = 0
  if (map === "affine") {
    let mx = 0
    let my = 0
    for (let i = 0; i < n; i++) {
      mx += x(i)
      my += y(i)
    }
    mx /= n
    my /= n
    let sxy = 0
    let sxx = 0
    for (let i = 0; i < n; i++) {
      const dx = x(i) - mx
      sxy += dx * (y(i) - my)
      sxx += dx * dx
    }
    scale = sxx > 0 ? Math.max(0, sxy / sxx) : 0
    shift = my - scale * mx
  }
  let residual = 0
  for (let i = 0; i < n; i++) residual += (y(i) - scale * x(i) - shift) ** 2
  return { scale, shift, residual: residual / n }
}

/**
 * Ground-truth slice correspondence between two specimens from their labels: a least-squares line
 * z_reference = a · z_query + b through the end points of every organ present in both. Returns
 * null when fewer than two distinct query landmarks exist.
 */
export const landmarkMap = (
  pairs: ReadonlyArray<{ readonly query: SliceInterval; readonly reference: SliceInterval }>
): ((z: number) => number) | null => {
  const xs: number[] = []
  const ys: number[] = []
  for (const p of pairs) {
    xs.push(p.query[0], p.query[1])
    ys.push(p.reference[0], p.reference[1])
  }
  const n = xs.length
  if (n < 2) return null
  const mx = xs.reduce((s, v) => s + v, 0) / n
  const my = ys.reduce((s, v) => s + v, 0) / n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my)
    sxx += (xs[i] - mx) ** 2
  }
  if (sxx === 0) return null
  const a = sxy / sxx
  return (z) => a * z + my - a * mx
}

/** Reference slice position of query slice z: scale · z + offset (slice z's center is at z). */
export interface SliceMap {
  readonly scale: number
  readonly offset: number
}

export interface SliceAlignment extends SliceMap {
  /** Mean slice distance along the map, over the overlap. */
  readonly cost: number
  /** Query slices that fall inside the reference. */
  readonly overlap: number
}

export interface AlignOptions {
  /** Fewest query slices the two volumes must share, as a share of the query. */
  readonly minOverlap: number
  /** Largest ratio of slice spacings (either way) tried. */
  readonly maxScale: number
}

/**
 * Squared Euclidean distance, per dimension, between every query slice's descriptor and every
 * reference slice's (rows of the result: query slices).
 */
export const sliceDistances = (query: ReadonlyArray<ArrayLike<number>>, reference: ReadonlyArray<ArrayLike<number>>): Array<Float64Array> =>
  query.map((a) => {
    const row = new Float64Array(reference.length)
    for (let j = 0; j < reference.length; j++) {
      const b = reference[j]
      let s = 0
      for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2
      row[j] = s / a.length
    }
    return row
  })

/**
 * Aligns two scans along the axis from their slice distances (`sliceDistances`): the affine slice map
 * z_ref = scale · z + offset with the least mean distance over the slices both cover (distances
 * interpolated between reference slices). One encoder describes both, so a body level should look
 * alike wherever it appears; the scans may start, end and be sampled differently. A grid search (scales
 * log-spaced, offsets in half slices) rather than a descent: plateaus of the descriptors give the cost
 * many local minima.
 */
export const alignSlices = (distance: ReadonlyArray<Float64Array>, options: AlignOptions): SliceAlignment | null => {
  const nq = distance.length
  const nr = distance[0]?.length ?? 0
  if (nq < 2 || nr < 2) return null
  const steps = 40
  let best: SliceAlignment | null = null
  for (let k = -steps; k <= steps; k++) {
    const scale = Math.pow(options.maxScale, k / steps)
    for (const candidate of alignmentsAt(distance, scale, options.minOverlap))
      if (!best || candidate.cost < best.cost - 1e-12) best = candidate
  }
  return best
}

/**
 * Every alignment at one scale, offsets in half slices, whose overlap covers at least `minOverlap`
 * of the query: the mean slice distance along the map (interpolated between reference slices).
 */
export const alignmentsAt = (distance: ReadonlyArray<Float64Array>, scale: number, minOverlap: number): Array<SliceAlignment> => {
  const nq = distance.length
  const nr = distance[0]?.length ?? 0
  const at = (z: number, p: number) => {
    const i = Math.max(0, Math.min(nr - 2, Math.floor(p)))
    const f = p - i
    return distance[z][i] * (1 - f) + distance[z][i + 1] * f
  }
  const need = Math.max(2, Math.ceil(minOverlap * nq))
  const out: Array<SliceAlignment> = []
  for (let offset = -scale * (nq - 1); offset <= nr - 1; offset += 0.5) {
    const first = Math.max(0, Math.ceil(-offset / scale - 1e-9))
    const last = Math.min(nq - 1, Math.floor((nr - 1 - offset) / scale + 1e-9))
    const overlap = last - first + 1
    if (overlap < need) continue
    let cost = 0
    for (let z = first; z <= last; z++) cost += at(z, scale * z + offset)
    out.push({ scale, offset, cost: cost / overlap, overlap })
  }
  return out
}

export interface ScanLocation extends SliceAlignment {
  /**
   * 1 − best cost / the best cost at least `margin` reference slices away: 0 when another
   * placement fits as well, toward 1 when this one stands out.
   */
  readonly confidence: number
  /** The best placement that far away (null when the reference leaves no room for one). */
  readonly runnerUp: SliceAlignment | null
}

/**
 * Where a partial scan sits in a reference (`distance`: query slices × reference slices, as from
 * `sliceDistances`). With `scale` known (from both headers' slice spacings: reference slices per
 * query slice) only the offset is searched; otherwise the scale too, as `alignSlices` does.
 */
export const locateScan = (
  distance: ReadonlyArray<Float64Array>,
  options: { readonly scale?: number; readonly minOverlap: number; readonly maxScale: number; readonly margin: number }
): ScanLocation | null => {
  const nq = distance.length
  if (nq < 2 || (distance[0]?.length ?? 0) < 2) return null
  const steps = 40
  const scales = options.scale
    ? [options.scale]
    : Array.from({ length: 2 * steps + 1 }, (_, k) => Math.pow(options.maxScale, (k - steps) / steps))
  const all = scales.flatMap((s) => alignmentsAt(distance, s, options.minOverlap))
  if (all.length === 0) return null
  const best = all.reduce((a, b) => (b.cost < a.cost - 1e-12 ? b : a))
  const far = all.filter((a) => Math.abs(a.offset - best.offset) >= options.margin)
  const runnerUp = far.length > 0 ? far.reduce((a, b) => (b.cost < a.cost ? b : a)) : null
  const confidence = runnerUp && runnerUp.cost > 0 ? Math.max(0, 1 - best.cost / runnerUp.cost) : 0
  return { ...best, confidence, runnerUp }
}

/** The proportional baseline as a slice map: the same relative position (slice centers match). */
export const proportionalMap = (queryLength: number, referenceLength: number): SliceMap => {
  const scale = referenceLength / queryLength
  return { scale, offset: scale / 2 - 0.5 }
}

export interface MappedReference {
  readonly organ: SliceInterval
  readonly length: number
  /** Query slice → reference slice. */
  readonly map: SliceMap
}

const median = (values: ReadonlyArray<number>): number => {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Several references at once: each maps its organ's ends (slice edges, not centers) into the query,
 * and the median of each end is the prediction — robust to a few badly aligned references.
 * An organ that reaches a reference's first or last slice may go on beyond the scan, so that end
 * votes for the query's own edge (±∞ before clamping) instead of for where the scan happened to stop.
 */
export const medianInterval = (references: ReadonlyArray<MappedReference>, queryLength: number): SliceInterval | null => {
  if (references.length === 0) return null
  const toQuery = (m: SliceMap, p: number) => (p - m.offset) / m.scale
  const firsts = references.map((r) => (r.organ[0] === 0 ? -Infinity : toQuery(r.map, r.organ[0] - 0.5) + 0.5))
  const lasts = references.map((r) => (r.organ[1] === r.length - 1 ? Infinity : toQuery(r.map, r.organ[1] + 0.5) - 0.5))
  const first = Math.max(0, Math.round(median(firsts)))
  const last = Math.min(queryLength - 1, Math.round(median(lasts)))
  return first <= last ? [first, last] : null
}
