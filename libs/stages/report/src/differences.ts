import { budgetLabel as budget, budgetOrder, differenceDesign as design, iouPoints as points, type MetricDifference } from "@tomoprior/core"
import { type Spec, renderSvg } from "./charts.ts"
import { escape, note, table } from "./html.ts"

/**
 * The sentences that carry the claim: at the smallest label budget on held-out volumes, each method
 * against random init, with its interval and whether the interval excludes zero.
 */
export const headlineSentences = (differences: ReadonlyArray<MetricDifference>): Array<string> => {
  const held = differences.filter((d) => d.split === "extrapolation")
  if (held.length === 0) return []
  const smallest = Math.min(...held.map(budgetOrder))
  return held
    .filter((d) => budgetOrder(d) === smallest)
    .map(
      (d) =>
        `At ${budget(d)} of the labels, ${d.a} − ${d.b} = ${points(d.mean)} IoU points on held-out volumes, ` +
        `95 % CI [${points(d.low)}, ${points(d.high)}] (${design(d)}): ` +
        (d.excludesZero ? `${d.mean > 0 ? d.a : d.b} is better beyond the interval.` : "not resolved, the interval includes zero.")
    )
}

/** Each difference as a point with its interval, one panel per label budget, zero marked. */
const differenceChart = (differences: ReadonlyArray<MetricDifference>): Spec => {
  const budgets = [...new Set([...differences].sort((a, b) => budgetOrder(a) - budgetOrder(b)).map(budget))]
  const pairs = [...new Set(differences.map((d) => `${d.a} − ${d.b}`))]
  const values = differences.map((d) => ({
    pair: `${d.a} − ${d.b}`,
    budget: `annotated slices: ${budget(d)}`,
    mean: 100 * d.mean,
    low: 100 * d.low,
    high: 100 * d.high,
    resolved: d.excludesZero ? "interval excludes 0" : "interval includes 0"
  }))
  const y = { field: "pair", type: "nominal", title: null, sort: pairs }
  const color = {
    field: "resolved",
    type: "nominal",
    title: null,
    scale: { domain: ["interval excludes 0", "interval includes 0"], range: ["#0072B2", "#999999"] },
    legend: { orient: "top" }
  }
  return {
    data: { values },
    facet: { field: "budget", type: "nominal", title: null, sort: budgets.map((b) => `annotated slices: ${b}`) },
    columns: Math.min(3, budgets.length),
    spec: {
      width: 230,
      height: 22 * pairs.length,
      layer: [
        { mark: { type: "rule", color: "#444", strokeDash: [3, 3] }, encoding: { x: { datum: 0 } } },
        {
          mark: { type: "rule", strokeWidth: 2 },
          encoding: { y, x: { field: "low", type: "quantitative" }, x2: { field: "high" }, color }
        },
        {
          mark: { type: "point", filled: true, size: 60 },
          encoding: { y, x: { field: "mean", type: "quantitative", title: "difference in mean foreground IoU ×100" }, color }
        }
      ]
    },
    resolve: { axis: { x: "independent" } }
  }
}

/**
 * The paired differences of a Metrics artifact on held-out volumes (interpolation ones in a
 * collapsed table): the headline sentences, a chart of every difference with its interval and a
 * table marking which intervals exclude zero. Empty when the Metrics carries none (written before
 * evaluate computed them).
 */
export const differencesSection = async (differences: ReadonlyArray<MetricDifference>): Promise<string> => {
  if (differences.length === 0) return ""
  const parts: Array<string> = [`<p class="headline">${headlineSentences(differences).map(escape).join("<br>")}</p>`]
  const held = differences.filter((d) => d.split === "extrapolation")
  if (held.length > 0)
    parts.push(
      `<figure>${await renderSvg(differenceChart(held))}<figcaption>${escape(
        "Paired differences in mean foreground IoU on held-out volumes (×100): each method against random init (none) " +
          "and against each other, at the same seed (the same labeled slices) and on the same volume. Bars: the " +
          `${design(held[0])}; blue ones exclude zero.`
      )}</figcaption></figure>`
    )
  for (const split of ["extrapolation", "interpolation"] as const) {
    const rows = differences
      .filter((d) => d.split === split)
      .sort((a, b) => budgetOrder(a) - budgetOrder(b))
      .map((d) => [
        escape(`${d.a} − ${d.b}`),
        escape(budget(d)),
        points(d.mean),
        `[${points(d.low)}, ${points(d.high)}]`,
        `${d.seeds} × ${d.volumes}`,
        d.excludesZero ? "<b>yes</b>" : "no"
      ])
    if (rows.length === 0) continue
    const t = table(
      `Paired differences — ${split}`,
      ["difference", "budget", "mean ×100", `${Math.round(100 * differences[0].level)} % interval`, "seeds × volumes", "excludes 0"],
      rows,
      { detail: "Mean over seeds × volumes of the per-volume foreground-IoU difference; the interval resamples seeds and volumes." }
    )
    parts.push(
      split === "extrapolation" ? t : `<details><summary>Interpolation (unlabeled slices of the training volumes)</summary>${t}</details>`
    )
  }
  if (held.length === 0) parts.push(note("No held-out volumes: the differences are on unlabeled slices of the training volumes only."))
  return parts.join("")
}
