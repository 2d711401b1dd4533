import type { MetricRow, MetricSummaryRow } from "@tomoprior/core"
import { meanStd } from "./metrics.ts"

export const FOREGROUND_MEAN = "foreground mean"

const cellKey = (r: MetricRow, classKey: string): string => JSON.stringify([r.pretraining, r.fraction, r.everyK, r.split, classKey])

interface Cell {
  readonly first: MetricRow
  readonly classId: number | null
  readonly className: string
  readonly iou: Map<number, number>
  readonly dice: Map<number, number>
}

/**
 * Mean ± sample std over seeds per (pretraining, fraction|everyK, split, class), plus the
 * foreground mean: for each seed the mean over its foreground classes (id ≠ 0), then mean ± std of
 * those per-seed means — the paper's "mean IoU" cells.
 */
export const summarize = (rows: ReadonlyArray<MetricRow>): ReadonlyArray<MetricSummaryRow> => {
  const cells = new Map<string, Cell>()
  const cell = (r: MetricRow, classId: number | null, className: string): Cell => {
    const key = cellKey(r, classId === null ? "*" : String(classId))
    let c = cells.get(key)
    if (!c) {
      c = { first: r, classId, className, iou: new Map(), dice: new Map() }
      cells.set(key, c)
    }
    return c
  }
  const foreground = new Map<string, { cell: Cell; perSeed: Map<number, { iou: number[]; dice: number[] }> }>()
  for (const r of rows) {
    const c = cell(r, r.classId, r.className)
    c.iou.set(r.seed, r.iou)
    c.dice.set(r.seed, r.dice)
    if (r.classId === 0) continue
    const key = cellKey(r, "*")
    let fg = foreground.get(key)
    if (!fg) {
      fg = { cell: cell(r, null, FOREGROUND_MEAN), perSeed: new Map() }
      foreground.set(key, fg)
    }
    const s = fg.perSeed.get(r.seed) ?? { iou: [], dice: [] }
    s.iou.push(r.iou)
    s.dice.push(r.dice)
    fg.perSeed.set(r.seed, s)
  }
  for (const { cell: c, perSeed } of foreground.values()) {
    for (const [seed, s] of perSeed) {
      c.iou.set(seed, meanStd(s.iou).mean)
      c.dice.set(seed, meanStd(s.dice).mean)
    }
  }
  return [...cells.values()].map((c) => {
    const iou = meanStd([...c.iou.values()])
    const dice = meanStd([...c.dice.values()])
    return {
      pretraining: c.first.pretraining,
      fraction: c.first.fraction,
      everyK: c.first.everyK,
      split: c.first.split,
      classId: c.classId,
      className: c.className,
      seeds: iou.n,
      iouMean: iou.mean,
      iouStd: iou.std,
      diceMean: dice.mean,
      diceStd: dice.std
    }
  })
}

const csvField = (v: unknown): string => {
  const s = v === null || v === undefined ? "" : String(v)
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/** One header line, then one line per row with the columns in `columns` order. */
export const toCsv = <R extends Record<string, unknown>>(rows: ReadonlyArray<R>, columns: ReadonlyArray<keyof R & string>): string =>
  [columns.join(","), ...rows.map((r) => columns.map((c) => csvField(r[c])).join(","))].join("\n") + "\n"
