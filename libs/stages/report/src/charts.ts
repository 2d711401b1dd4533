/**
 * Vega-Lite specs rendered to SVG at build time with vega's headless `renderer: "none"` View, so
 * the report needs neither a canvas module nor network access to show its charts. vega is loaded
 * on first use: the CLI imports every stage package at start-up and must stay light.
 */

type Spec = Record<string, unknown>
type Row = Record<string, unknown>

export const renderSvg = async (spec: Spec): Promise<string> => {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")])
  const compiled = vl.compile({ $schema: "https://vega.github.io/schema/vega-lite/v5.json", ...spec } as never).spec
  const view = new vega.View(vega.parse(compiled), { renderer: "none" })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

const q = (field: string, title: string, extra: Spec = {}): Spec => ({ field, type: "quantitative", title, ...extra })
const n = (field: string, title: string, extra: Spec = {}): Spec => ({ field, type: "nominal", title, ...extra })

/** Loss against step, one line per `series`, optionally one panel per `panel`. */
export const lossCurves = (rows: ReadonlyArray<Row>, series: string, panel?: string): Spec => ({
  data: { values: rows },
  mark: { type: "line", point: rows.length < 60 },
  width: panel ? 220 : 520,
  height: 220,
  encoding: {
    x: q("step", "step"),
    y: q("loss", "loss", { scale: { zero: false } }),
    color: n(series, series),
    detail: n("run", "run"),
    ...(panel ? { column: n(panel, panel) } : {})
  }
})

/** Mean foreground IoU against label fraction with ±1 std error bars, one line per method. */
export const iouByFraction = (rows: ReadonlyArray<Row>): Spec => ({
  data: { values: rows },
  width: 260,
  height: 220,
  encoding: {
    x: q("fraction", "annotated slices (fraction)", { scale: { type: "log" } }),
    color: n("pretraining", "pre-training")
  },
  layer: [
    { mark: { type: "line", point: true }, encoding: { y: q("iou", "mean IoU ×100", { scale: { zero: false } }) } },
    { mark: "errorbar", encoding: { y: q("low", "mean IoU ×100"), y2: { field: "high" } } }
  ]
})

/** Slice score against slice position, one colour per volume, one panel per method. */
export const scoreScatter = (rows: ReadonlyArray<Row>): Spec => ({
  data: { values: rows },
  mark: { type: "point", size: 12, filled: true },
  width: 300,
  height: 220,
  encoding: {
    x: q("position", "slice position (fraction of the volume)"),
    y: q("score", "score", { scale: { zero: false } }),
    color: n("volume", "volume", { legend: null }),
    column: n("method", "method")
  },
  resolve: { scale: { y: "independent" } }
})

/** Grouped bars: interval IoU per organ, score-range localiser vs the proportional baseline. */
export const intervalBars = (rows: ReadonlyArray<Row>): Spec => ({
  data: { values: rows },
  mark: "bar",
  width: { step: 22 },
  height: 200,
  encoding: {
    x: n("localiser", "", { axis: { labels: false, ticks: false } }),
    y: q("iou", "mean interval IoU", { scale: { domain: [0, 1] } }),
    color: n("localiser", "localiser"),
    column: n("group", "method · organ", { header: { labelAngle: -30, labelAlign: "right" } })
  }
})
