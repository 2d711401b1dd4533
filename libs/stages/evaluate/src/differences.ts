import { type BootstrapOptions, crossedBootstrap, excludesZero } from "@tomoprior/stats"

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

/** `a − b` in mean foreground IoU at one label budget and split, paired by seed and volume. */
export interface Difference {
  readonly a: string
  readonly b: string
  readonly fraction: number | null
  readonly everyK: number | null
  readonly split: VolumeScore["split"]
  /** Seeds and volumes both methods were scored on (the grid the interval resamples). */
  readonly seeds: number
  readonly volumes: number
  readonly mean: number
  readonly low: number
  readonly high: number
  readonly level: number
  readonly excludesZero: boolean
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
): Array<Difference> => {
  const baseline = options.baseline ?? "none"
  const methods = [...new Set(scores.map((s) => s.pretraining))]
  const others = methods.filter((m) => m !== baseline)
  const pairs: Array<readonly [string, string]> = [
    ...(methods.includes(baseline) ? others.map((m) => [m, baseline] as const) : []),
    ...others.flatMap((a, i) => others.slice(i + 1).map((b) => [a, b] as const))
  ]
  const cells = new Map<string, Array<VolumeScore>>()
  for (const s of scores) cells.set(cellKey(s), [...(cells.get(cellKey(s)) ?? []), s])
  const out: Array<Difference> = []
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
