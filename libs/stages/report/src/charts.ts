/**
 * Vega-Lite specs rendered to SVG at build time with vega's headless `renderer: "none"` View, so
 * the report needs neither a canvas module nor network access to show its charts. vega is loaded
 * on first use: the CLI imports every stage package at start-up and must stay light.
 *
 * Every chart that tells methods apart by color takes its scale from palette.ts, and the field
 * holding the method is always called `method`.
 */
import { BASELINE_GREY, methodColor, methodKey, methodScale, shades, sortMethods } from "./palette.ts"

export type Spec = Record<string, unknown>

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
const n = (field: string, title: string | null, extra: Spec = {}): Spec => ({ field, type: "nominal", title, ...extra })

/** Long method names ("simclr (PC1 of embeddings)") must not be cut off in a legend. */
const LEGEND_LABELS = { labelLimit: 320 }

/** Dash patterns are drawn as short grey strokes: the color belongs to the method legend. */
const RUN_LEGEND = {
  orient: "top",
  symbolType: "stroke",
  symbolStrokeWidth: 2,
  symbolSize: 400,
  ...LEGEND_LABELS,
  encode: { symbols: { update: { stroke: { value: "#555555" } } } }
}

const methodColorChannel = (rows: ReadonlyArray<{ readonly method: string }>, title: string, legend: Spec = {}): Spec =>
  n("method", title, { scale: methodScale(rows.map((r) => r.method)), legend: { ...LEGEND_LABELS, ...legend } })

/** Facet panels in the palette's method order, each method's panels in first-seen order. */
const panelOrder = (rows: ReadonlyArray<{ readonly method: string; readonly panel: string }>): Array<string> => {
  const methods = sortMethods(rows.map((r) => r.method))
  const rank = (panel: string) => methods.indexOf(rows.find((r) => r.panel === panel)!.method)
  return [...new Set(rows.map((r) => r.panel))].sort((a, b) => rank(a) - rank(b))
}

/** Panels per row and their width: a row fills, but never overflows, the 1100px page. */
const MAX_COLUMNS = 3
const panelWidth = (columns: number): number => (columns === 1 ? 520 : columns === 2 ? 380 : 230)

/** Own x axis per panel: in a wrapped facet a shared one is drawn as a detached footer per column. */
const OWN_X_AXIS = { x: "independent" }

const HEADER = { labelFontSize: 12, labelFontWeight: 600 }

export interface CurveRow {
  readonly method: string
  /** The facet this point belongs to, e.g. "sorting — hinge loss". */
  readonly panel: string
  readonly run: string
  readonly step: number
  readonly value: number
}

/**
 * One panel per method (or per method × metric) with its own y scale: the methods optimize
 * different losses, so on a shared axis the small one flattens into the floor. `rowPerMethod`
 * starts each method on a new row, so its metrics read across.
 */
export const curvePanels = (
  rows: ReadonlyArray<CurveRow>,
  opts: { readonly x: string; readonly y: string; readonly rowPerMethod: boolean }
): Spec => {
  const methods = sortMethods(rows.map((r) => r.method))
  // variants of one method ("sorting (margin=0.1)") share its row and panels
  const families = [...new Set(methods.map(methodKey))]
  const groups = opts.rowPerMethod ? families.map((f) => rows.filter((r) => methodKey(r.method) === f)) : [rows]
  const columns = Math.min(MAX_COLUMNS, Math.max(...groups.map((g) => new Set(g.map((r) => r.panel)).size)))
  const runsPerMethod = Math.max(...methods.map((m) => new Set(rows.filter((r) => r.method === m).map((r) => r.run)).size))
  const color = methodColorChannel(rows, "method", { orient: "top" })
  const facet = (group: ReadonlyArray<CurveRow>): Spec => {
    const panels = panelOrder(group)
    return {
      data: { values: group },
      facet: n("panel", null, { sort: panels, header: HEADER }),
      columns,
      spec: {
        width: panelWidth(columns),
        height: 170,
        mark: { type: "line", point: group.length / panels.length < 60 },
        encoding: {
          x: q("step", opts.x),
          y: q("value", opts.y, { scale: { zero: false } }),
          color: color,
          detail: n("run", "run"),
          // several runs of one method share its color and panel: dashes tell them apart
          ...(runsPerMethod > 1 ? { strokeDash: n("run", "run", { legend: RUN_LEGEND }) } : {})
        }
      },
      resolve: { scale: { y: "independent" }, axis: OWN_X_AXIS }
    }
  }
  return groups.length === 1 ? facet(groups[0]) : { vconcat: groups.map(facet) }
}

export interface FinetuneRow {
  readonly method: string
  readonly budget: string
  readonly run: string
  readonly step: number
  readonly loss: number
}

/** Fine-tuning loss, one panel per label budget; one loss function, so one shared y scale. */
export const finetuneCurves = (rows: ReadonlyArray<FinetuneRow>, budgets: ReadonlyArray<string>): Spec => {
  const columns = Math.min(budgets.length, MAX_COLUMNS)
  const panel = (budget: string) => `annotated slices: ${budget}`
  return {
    data: { values: rows.map((r) => ({ ...r, panel: panel(r.budget) })) },
    facet: n("panel", null, { sort: budgets.map(panel), header: HEADER }),
    columns,
    spec: {
      mark: { type: "line" },
      width: panelWidth(columns),
      height: 200,
      encoding: {
        x: q("step", "fine-tuning step"),
        y: q("loss", "loss (cross-entropy + Dice)", { scale: { zero: false } }),
        color: methodColorChannel(rows, "pre-training"),
        detail: n("run", "run")
      }
    },
    resolve: { axis: OWN_X_AXIS }
  }
}

export interface IouRow {
  readonly method: string
  readonly fraction: number
  readonly iou: number
  readonly low: number
  readonly high: number
}

const DODGE_DECADES = 0.03

/** Mean foreground IoU against label fraction with ±1 std error bars, one line per method. */
export const iouByFraction = (rows: ReadonlyArray<IouRow>): Spec => {
  const fractions = [...new Set(rows.map((r) => r.fraction))].sort((a, b) => a - b)
  // methods sit a few pixels apart around each fraction so their error bars do not hide each other
  const methods = sortMethods(rows.map((r) => r.method))
  const dodge = (method: string): number => 10 ** (DODGE_DECADES * (methods.indexOf(method) - (methods.length - 1) / 2))
  const x = q("shown", "annotated slices used (log scale)", {
    scale: { type: "log", domain: [fractions[0] / 1.4, fractions[fractions.length - 1] * 1.4], nice: false },
    axis: { values: fractions, format: "~%", grid: false }
  })
  return {
    data: { values: rows.map((r) => ({ ...r, shown: r.fraction * dodge(r.method) })) },
    width: 360,
    height: 240,
    encoding: { x, color: methodColorChannel(rows, "pre-training") },
    layer: [
      { mark: { type: "line", point: true }, encoding: { y: q("iou", "mean foreground IoU ×100", { scale: { zero: false } }) } },
      { mark: { type: "errorbar", ticks: true }, encoding: { y: q("low", "mean foreground IoU ×100"), y2: { field: "high" } } }
    ]
  }
}

export interface ScoreRow {
  readonly method: string
  readonly volume: string
  readonly position: number
  readonly score: number
}

/**
 * Slice score against slice position, one panel per method. Volumes are shades of the panel's
 * method color (light = first volume): they stay apart without taking another method's hue.
 */
export const scoreScatter = (rows: ReadonlyArray<ScoreRow>): Spec => {
  const methods = sortMethods(rows.map((r) => r.method))
  const domain: Array<string> = []
  const range: Array<string> = []
  for (const m of methods) {
    const volumes = [...new Set(rows.filter((r) => r.method === m).map((r) => r.volume))].sort()
    domain.push(...volumes.map((v) => `${m} / ${v}`))
    range.push(...shades(methodColor(m), volumes.length))
  }
  const columns = Math.min(methods.length, MAX_COLUMNS)
  return {
    data: { values: rows.map((r) => ({ ...r, shade: `${r.method} / ${r.volume}` })) },
    facet: n("method", null, { sort: methods, header: HEADER }),
    columns,
    spec: {
      mark: { type: "point", size: 14, filled: true, opacity: 0.85 },
      width: panelWidth(columns),
      height: 220,
      encoding: {
        x: q("position", "slice position (0 = first, 1 = last)"),
        y: q("score", "slice score (arbitrary units)", { scale: { zero: false } }),
        color: n("shade", "volume", { scale: { domain, range }, legend: null })
      }
    },
    resolve: { scale: { y: "independent" }, axis: OWN_X_AXIS }
  }
}

export interface IntervalRow {
  readonly method: string
  /** The facet: an organ, or the mean over organs. */
  readonly organ: string
  /** One of the chart's `pair`: the encoder-based localizer or its baseline. */
  readonly localizer: string
  readonly iou: number
}

/** The two localizers one interval chart compares: `encoder` uses the method's encoder, `baseline` none. */
export interface LocalizerPair {
  readonly encoder: string
  readonly baseline: string
}

/** Bar width, and room for a row of organ groups: they wrap before they overflow the page. */
const BAR_STEP = 16
const BARS_ROW_WIDTH = 950

/** The legend entry (and color-scale key) of a pair's baseline bars. */
export const baselineLegend = (pair: LocalizerPair): string => `${pair.baseline} (baseline)`

/**
 * Interval IoU per organ: for each method its encoder-based localizer (method color) beside the
 * baseline on the same cases (grey: it uses no encoder).
 */
export const intervalBars = (rows: ReadonlyArray<IntervalRow>, organs: ReadonlyArray<string>, pair: LocalizerPair, height = 200): Spec => {
  const methods = sortMethods(rows.map((r) => r.method))
  const baseline = baselineLegend(pair)
  // a method's pair of bars with band padding, plus the spacing between groups (measured)
  const groupWidth = (2 * BAR_STEP + 12) * methods.length + 40
  return {
    data: { values: rows.map((r) => ({ ...r, bar: r.localizer === pair.encoder ? r.method : baseline })) },
    facet: n("organ", null, { sort: organs, header: { ...HEADER, labelOrient: "bottom" } }),
    columns: Math.max(1, Math.min(organs.length, Math.floor(BARS_ROW_WIDTH / groupWidth))),
    spec: {
      mark: "bar",
      width: { step: BAR_STEP },
      height,
      encoding: {
        x: n("method", null, { sort: methods, axis: null }),
        xOffset: n("localizer", null, { sort: [pair.encoder, pair.baseline] }),
        y: q("iou", "mean interval IoU (0–1)", { scale: { domain: [0, 1] } }),
        color: n("bar", `${pair.encoder} (method color) vs baseline`, {
          scale: { domain: [...methods, baseline], range: [...methods.map(methodColor), BASELINE_GREY] },
          legend: { ...LEGEND_LABELS, titleLimit: 400, orient: "top" }
        })
      }
    }
  }
}

export interface ProjectionRow {
  /** The panel: which Embeddings artifact (producer and method). */
  readonly panel: string
  readonly volume: string
  readonly position: number
  readonly pc1: number
  readonly pc2: number
}

/**
 * Slice embeddings on their first two principal components, one panel per Embeddings artifact,
 * coloured by slice position (viridis: dark = first slice, yellow = last): an encoder that learned
 * the axis draws a path from dark to yellow.
 */
export const projectionScatter = (rows: ReadonlyArray<ProjectionRow>): Spec => {
  const panels = [...new Set(rows.map((r) => r.panel))]
  const columns = Math.min(panels.length, MAX_COLUMNS)
  return {
    data: { values: rows },
    facet: n("panel", null, { sort: panels, header: HEADER }),
    columns,
    spec: {
      mark: { type: "point", size: 16, filled: true, opacity: 0.85 },
      width: panelWidth(columns),
      height: 260,
      encoding: {
        x: q("pc1", "PC1", { scale: { zero: false } }),
        y: q("pc2", "PC2", { scale: { zero: false } }),
        color: q("position", "slice position", { scale: { scheme: "viridis", domain: [0, 1] } }),
        tooltip: [n("volume", "volume"), q("position", "slice position")]
      }
    },
    resolve: { scale: { x: "independent", y: "independent" } }
  }
}
