import type { MetricDifference, MetricVolumeRow } from "@tomoprior/core"
import { type BootstrapOptions, crossedBootstrap, excludesZero } from "@tomoprior/stats"

/**
 * Each segmenter's mean foreground IoU per volume of a split: the mean over the foreground classes
 * (id ≠ 0) scored on that volume; a volume with none scored is left out.
 */
export const volumeScores = (rows: ReadonlyArray<MetricVolumeRow>): Array<VolumeScore> => {
  const groups = new Map<string, { first: MetricVolumeRow; ious: Array<number> }>()
  for (const r of rows) {
    if (r.classId === 0) continue
    const key = JSON.stringify([r.pretraining, r.fraction, r.everyK, r.split, r.seed, r.volume])
    const g = groups.get(key) ?? { first: r, ious: [] }
    g.ious.push(r.iou)
    groups.set(key, g)
  }
  return [...groups.values()].map(({ first: r, ious }) => ({
    pretraining: r.pretraining,
    fraction: r.fraction,
    everyK: r.everyK,
    split: r.split,
    seed: r.seed,
    volume: r.volume,
    foreground: ious.reduce((a, b) => a + b, 0) / ious.length
  }))
}

/** One segmenter's mean foreground IoU on one volume of one split. */
export interface VolumeScore {
  readonly pretraining: string
  readonly fraction: number | null
  readonly everyK: number | null
  readonly split: "interpolation" | "extrapolation"
  readonly seed: number
  readonly volume: string
  readonly foreground: number
}

const cellKey = (s: Pick<VolumeScore, "fraction" | "everyK" | "split">): string => JSON.stringify([s.fraction, s.everyK, s.split])

/**
 * For every label budget and split: each method against `baseline` (random init), then each pair
 * of the other methods, in the order they first appear. A pair's values are differences on the
 * same seed (the same labeled slices) and the same volume; the interval resamples seeds and
 * volumes independently (`crossedBootstrap`). Pairs without a common seed and volume are left out.
 */
export const pairedDifferences = (
  scores: ReadonlyArray<VolumeScore>,
  options: BootstrapOptions & { readonly baseline?: string } = {}
): Array<MetricDifference> => {
  const baseline = options.baseline ?? "none"
  const methods = [...new Set(scores.map((s) => s.pretraining))]
  const others = methods.filter((m) => m !== baseline)
  const pairs: Array<readonly [string, string]> = [
    ...(methods.includes(baseline) ? others.map((m) => [m, baseline] as const) : []),
    ...others.flatMap((a, i) => others.slice(i + 1).map((b) => [a, b] as const))
  ]
  const cells = new Map<string, Array<VolumeScore>>()
  for (const s of scores) cells.set(cellKey(s), [...(cells.get(cellKey(s)) ?? []), s])
  const out: Array<MetricDifference> = []
  for (const cell of cells.values()) {
    const value = new Map(cell.map((s) => [JSON.stringify([s.pretraining, s.seed, s.volume]), s.foreground]))
    for (const [a, b] of pairs) {
      const of = (m: string) => cell.filter((s) => s.pretraining === m)
      const seeds = [...new Set(of(a).map((s) => s.seed))].filter((seed) => of(b).some((s) => s.seed === seed)).sort((x, y) => x - y)
      const volumes = [...new Set(of(a).map((s) => s.volume))].filter((v) => of(b).some((s) => s.volume === v)).sort()
      const grid = seeds.map((seed) =>
        volumes.map((volume) => {
          const x = value.get(JSON.stringify([a, seed, volume]))
          const y = value.get(JSON.stringify([b, seed, volume]))
          return x === undefined || y === undefined ? undefined : x - y
        })
      )
      const interval = crossedBootstrap(grid, options)
      if (Number.isNaN(interval.mean)) continue
      const { fraction, everyK, split } = cell[0]
      out.push({
        a,
        b,
        fraction,
        everyK,
        split,
        seeds: interval.rows,
        volumes: interval.columns,
        mean: interval.mean,
        low: interval.low,
        high: interval.high,
        level: interval.level,
        excludesZero: excludesZero(interval)
      })
    }
  }
  return out
}
