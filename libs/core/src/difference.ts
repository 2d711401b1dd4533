import type { MetricDifference } from "./artifacts.ts"

/** A difference of IoUs (fractions) as signed points ×100: "+2.1", "−0.4", "0.0" (no sign on what rounds to zero). */
export const iouPoints = (v: number): string => {
  const text = Math.abs(100 * v).toFixed(1)
  return Number(text) === 0 ? text : `${v > 0 ? "+" : "−"}${text}`
}

/** "sorting − none: +2.1 [−0.4, +4.6]" (IoU ×100 with the interval). */
export const differenceText = (d: MetricDifference): string =>
  `${d.a} − ${d.b}: ${iouPoints(d.mean)} [${iouPoints(d.low)}, ${iouPoints(d.high)}]`

/** "95 % bootstrap interval over 5 seeds × 4 volumes": what an interval resampled. */
export const differenceDesign = (d: MetricDifference): string =>
  `${Math.round(100 * d.level)} % bootstrap interval over ${d.seeds} seed${d.seeds === 1 ? "" : "s"} × ${d.volumes} volume${d.volumes === 1 ? "" : "s"}`
