import {
  budgetLabel,
  budgetOrder,
  type EmbeddingsIndex,
  type EncoderIndex,
  LOCALIZERS,
  type LocalizationIndex,
  type MetricSummaryRow,
  type MetricsIndex,
  type SegmentationExample,
  type SegmenterIndex
} from "@tomoprior/core"
import {
  type CurveRow,
  curvePanels,
  finetuneCurves,
  type IntervalRow,
  intervalBars,
  type LocalizerPair,
  iouByFraction,
  type ProjectionRow,
  projectionScatter,
  renderSvg,
  scoreScatter
} from "./charts.ts"
import { differencesSection } from "./differences.ts"
import { escape, note, page, section, table } from "./html.ts"
import { probeTable } from "./probes.ts"
import { methodKey, sortMethods } from "./palette.ts"

/** Everything the page shows, already read from the input artifacts. */
export interface ReportData {
  readonly title: string
  readonly encoders: ReadonlyArray<{ readonly producer: string; readonly index: EncoderIndex }>
  readonly segmenters: ReadonlyArray<{ readonly producer: string; readonly index: SegmenterIndex }>
  readonly metrics: ReadonlyArray<{ readonly producer: string; readonly index: MetricsIndex }>
  readonly localizations: ReadonlyArray<{ readonly producer: string; readonly index: LocalizationIndex }>
  readonly embeddings?: ReadonlyArray<{ readonly producer: string; readonly index: EmbeddingsIndex }>
  /** Example PNGs by `${metrics producer}/${example.png}`, as bytes to inline. */
  readonly images: ReadonlyMap<string, Uint8Array>
}

const pct = (v: number): string => (100 * v).toFixed(1)
const num = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : "–")
const mean = (vs: ReadonlyArray<number>): number => vs.reduce((s, v) => s + v, 0) / vs.length

const figure = async (spec: Record<string, unknown>, caption: string): Promise<string> =>
  `<figure>${await renderSvg(spec)}<figcaption>${escape(caption)}</figcaption></figure>`

const uniqueSorted = <T>(items: ReadonlyArray<T>, key: (t: T) => string, order: (t: T) => number): Array<T> => {
  const seen = new Map<string, T>()
  for (const t of items) if (!seen.has(key(t))) seen.set(key(t), t)
  return [...seen.values()].sort((a, b) => order(a) - order(b))
}

/** The paper's table shape: rows = pre-training method, columns = label budget, cells mean ± std. */
const iouTable = (
  summary: ReadonlyArray<MetricSummaryRow>,
  split: MetricSummaryRow["split"],
  classId: number | null,
  caption: string
): string => {
  const rows = summary.filter((r) => r.split === split && r.classId === classId)
  if (rows.length === 0) return ""
  const budgets = uniqueSorted(rows, budgetLabel, budgetOrder)
  const methods = sortMethods(rows.map((r) => r.pretraining))
  const body = methods.map((m) => [
    escape(m),
    ...budgets.map((b) => {
      const cell = rows.find((r) => r.pretraining === m && budgetLabel(r) === budgetLabel(b))
      return cell ? `${pct(cell.iouMean)} ± ${pct(cell.iouStd)} <small>(n=${cell.seeds})</small>` : "–"
    })
  ])
  return table(caption, ["pre-training", ...budgets.map(budgetLabel)], body, { cls: "iou" })
}

/** The extrapolation foreground-mean table as plain text, for the terminal. */
export const iouTextTable = (summary: ReadonlyArray<MetricSummaryRow>, split: MetricSummaryRow["split"] = "extrapolation"): string => {
  const rows = summary.filter((r) => r.split === split && r.classId === null)
  if (rows.length === 0) return ""
  const budgets = uniqueSorted(rows, budgetLabel, budgetOrder).map(budgetLabel)
  const methods = sortMethods(rows.map((r) => r.pretraining))
  const cells = [
    ["pre-training", ...budgets],
    ...methods.map((m) => [
      m,
      ...budgets.map((b) => {
        const c = rows.find((r) => r.pretraining === m && budgetLabel(r) === b)
        return c ? `${pct(c.iouMean)} ± ${pct(c.iouStd)}` : "–"
      })
    ])
  ]
  const widths = cells[0].map((_, j) => Math.max(...cells.map((r) => r[j].length)))
  const lines = cells.map((r) =>
    r
      .map((c, j) => c.padEnd(widths[j]))
      .join("  ")
      .trimEnd()
  )
  return [`mean foreground IoU ×100, ${split}, mean ± std over seeds`, ...lines].join("\n")
}

const segmentationSection = async (data: ReportData): Promise<string> => {
  const summary = data.metrics.flatMap((m) => m.index.summary ?? [])
  if (summary.length === 0) return section("segmentation", "Segmentation", note("No Metrics input was given."))
  const parts: Array<string> = [
    await differencesSection(data.metrics.flatMap((m) => m.index.differences ?? [])),
    note("IoU ×100, mean ± sample std over seeds; the foreground mean averages the foreground classes of each seed first.")
  ]
  for (const split of ["extrapolation", "interpolation"] as const) {
    const where = split === "extrapolation" ? "held-out volumes" : "unlabeled slices of the training volumes"
    parts.push(iouTable(summary, split, null, `Mean foreground IoU — ${split} (${where})`))
  }
  // every-k-th budgets have no fraction to place on the x axis; the tables show them
  const curve = summary.flatMap((r) =>
    r.classId === null && r.split === "extrapolation" && r.fraction !== null
      ? [
          {
            method: r.pretraining,
            fraction: r.fraction,
            iou: 100 * r.iouMean,
            low: 100 * (r.iouMean - r.iouStd),
            high: 100 * (r.iouMean + r.iouStd)
          }
        ]
      : []
  )
  if (curve.length > 0) {
    parts.push(
      await figure(
        iouByFraction(curve),
        "Mean foreground IoU on held-out volumes against the fraction of annotated slices used, bars ±1 std over seeds. " +
          'Pre-training pays off where its line lies above "none" (random init), expected mostly at the smallest fractions.'
      )
    )
  }
  const classes = uniqueSorted(
    summary.filter((r) => r.classId !== null && r.classId !== 0),
    (r) => String(r.classId),
    (r) => r.classId ?? 0
  )
  const perClass = classes.map((c) =>
    iouTable(summary, "extrapolation", c.classId, `IoU of ${c.className} (class ${c.classId}) — extrapolation`)
  )
  if (perClass.length > 0) parts.push(`<details><summary>Per-class tables</summary>${perClass.join("")}</details>`)
  return section("segmentation", "Segmentation (fine-tuned U-Net)", parts.join(""))
}

/** Throughput figures share the history records with the held-out metrics but say nothing about quality. */
const isThroughput = (metric: string): boolean => /PerSecond$/i.test(metric)

const pretrainingSection = async (data: ReadonlyArray<{ readonly producer: string; readonly index: EncoderIndex }>): Promise<string> => {
  if (data.length === 0) return ""
  const lossName = (e: EncoderIndex): string => (typeof e.settings.loss === "string" ? ` — ${e.settings.loss} loss` : "")
  const losses: Array<CurveRow> = data.flatMap((e) =>
    e.index.history.map((h) => ({
      method: e.index.method,
      // variants of one method ("sorting (margin=0.1)") share its panel, in shades of its color
      panel: `${methodKey(e.index.method)}${lossName(e.index)}`,
      run: e.producer,
      step: h.step,
      value: h.loss
    }))
  )
  const held: Array<CurveRow> = data.flatMap((e) =>
    e.index.history.flatMap((h) =>
      Object.entries(h.metrics)
        .filter(([k]) => !isThroughput(k))
        .map(([k, v]) => ({
          method: e.index.method,
          panel: `${methodKey(e.index.method)} · ${k}`,
          run: e.producer,
          step: h.step,
          value: v
        }))
    )
  )
  const finals = data.map((e) => [
    escape(e.producer),
    escape(e.index.method),
    escape(`${e.index.architecture} w${e.index.width} @${e.index.inputSize}`),
    String(e.index.steps),
    escape(
      Object.entries(e.index.final)
        .map(([k, v]) => `${k} ${num(v)}`)
        .join(", ")
    )
  ])
  const parts = [
    losses.length > 0
      ? await figure(
          curvePanels(losses, { x: "training step", y: "loss (own scale per panel)", rowPerMethod: false }),
          "Pre-training loss per logged step, one panel per method: the methods minimize different losses, so each panel has its own y scale " +
            "and only the shape (falling, then levelling off) compares across panels."
        )
      : note("No loss history recorded."),
    held.length > 0
      ? await figure(
          curvePanels(held, { x: "training step", y: "value (own scale per panel)", rowPerMethod: true }),
          "Held-out metrics logged during pre-training, one panel per method and metric, each on its own y scale. " +
            "Final values (and the untrained encoder's, where logged) are in the Encoders table below."
        )
      : "",
    table("Encoders", ["stage", "method", "model", "steps", "final"], finals),
    probeTable(data)
  ]
  return section("pretraining", "Pre-training", parts.join(""))
}

const finetuneSection = async (data: ReadonlyArray<{ readonly producer: string; readonly index: SegmenterIndex }>): Promise<string> => {
  const rows = data.flatMap((s) =>
    s.index.history.map((h) => ({
      method: s.index.pretraining,
      budget: budgetLabel(s.index),
      // the producer alone may be shared (a stage fine-tuning several seeds), the seed alone by other encoders
      run: `${s.producer}/${budgetLabel(s.index)}/${s.index.seed}`,
      step: h.step,
      loss: h.loss
    }))
  )
  if (rows.length === 0) return ""
  const budgets = uniqueSorted(
    data.map((s) => s.index),
    budgetLabel,
    budgetOrder
  ).map(budgetLabel)
  return section(
    "finetuning",
    "Fine-tuning",
    await figure(
      finetuneCurves(rows, budgets),
      "Fine-tuning loss (softmax cross-entropy + Dice), one line per seed, one panel per label budget. " +
        'A pre-trained start shows as a line that begins lower or falls faster than "none".'
    )
  )
}

type Loc = { readonly producer: string; readonly index: LocalizationIndex }
type Localizer = (typeof LOCALIZERS)[number]
type OrganMean = NonNullable<LocalizationIndex["summary"]>[number]

/** Localizers that place organs without the encoder: what the encoder-based ones must beat. */
const BASELINES: ReadonlySet<Localizer> = new Set(["proportional-median", "proportional"])
const MULTI_REFERENCE = { encoder: "aligned", baseline: "proportional-median" } as const satisfies LocalizerPair
const PAIRWISE = { encoder: "score-range", baseline: "proportional" } as const satisfies LocalizerPair

/** The authors' pair chart is the secondary one: smaller, but tall enough for its y-axis title (a longer title pushes the legend away). */
const PAIR_CHART_HEIGHT = 150

const WHOLE_BODY_REASON = "whole-body: spans (nearly) every slice of every volume, so any placement fits it; not in the mean"

const ALIGNED_ON: Record<NonNullable<LocalizationIndex["alignedOn"]>, string> = {
  embeddings: "the encoder's pooled slice features (embeddings)",
  scores: "the slice scores alone (this encoder gives no features)"
}

/**
 * The per-organ means of one Localization: its `summary`, or for artifacts written before it the
 * pair protocol's means from `organs` (no headline: which labels are whole-body is not recorded).
 */
const organMeans = (index: LocalizationIndex): ReadonlyArray<OrganMean> =>
  index.summary ??
  pairsByOrgan(index).flatMap((pairs) => {
    const organ = { labelId: pairs[0].labelId, name: pairs[0].name, wholeBody: false, cases: pairs.length }
    return [
      { ...organ, localizer: "score-range" as const, meanIoU: mean(pairs.map((p) => p.iou)) },
      { ...organ, localizer: "proportional" as const, meanIoU: mean(pairs.map((p) => p.proportionalIou)) }
    ]
  })

/** The (reference, query) pairs of each organ, by label id. */
const pairsByOrgan = (index: LocalizationIndex): Array<Array<LocalizationIndex["organs"][number]>> =>
  [...new Set(index.organs.map((o) => o.labelId))].sort((a, b) => a - b).map((id) => index.organs.filter((o) => o.labelId === id))

/** Organs first, then the headline (labelId null), then the whole-body labels it leaves out. */
const organRank = (r: OrganMean): number => (r.labelId === null ? 1 : r.wholeBody ? 2 : 0) * 1e6 + (r.labelId ?? 0)

/** An organ's name in charts, where a whole-body label must stand out without a table's note. */
const facetName = (r: OrganMean): string => (r.labelId === null ? "mean over organs" : r.wholeBody ? `${r.name} (whole-body)` : r.name)

/** Charts and text name the method alone unless two inputs share it; the color follows the method either way. */
const localizationNames = (data: ReadonlyArray<Loc>) => {
  const label = (l: Loc) => `${l.index.method} (${l.producer})`
  const shared = (l: Loc) => data.filter((o) => o.index.method === l.index.method).length > 1
  return { label, short: (l: Loc) => (shared(l) ? label(l) : l.index.method) }
}

/** Rows = organs, headline, whole-body organs; columns = the localizers; the best encoder-based value per row marked. */
const localizerTable = (index: LocalizationIndex, name: string): string => {
  const rows = index.summary ?? []
  const organs = uniqueSorted(rows, (r) => String(r.labelId), organRank)
  const body = organs.map((o) => {
    const values = LOCALIZERS.map((loc) => rows.find((r) => r.labelId === o.labelId && r.localizer === loc)?.meanIoU)
    const bestOf = (baseline: boolean) =>
      Math.max(...values.filter((v, j): v is number => v !== undefined && BASELINES.has(LOCALIZERS[j]) === baseline))
    const [best, bestBaseline] = [bestOf(false), bestOf(true)]
    // the mark alone would read as "wins": say so when a baseline still does better
    const marked = (v: number) => `<mark class="${v < bestBaseline ? "best below-baseline" : "best"}">${num(v)}</mark>`
    const organ = o.wholeBody && o.labelId !== null ? `${escape(o.name)} <small>${escape(WHOLE_BODY_REASON)}</small>` : escape(o.name)
    return [organ, ...values.map((v, j) => (v === undefined ? "–" : !BASELINES.has(LOCALIZERS[j]) && v === best ? marked(v) : num(v)))]
  })
  const features = index.alignedOn ? ALIGNED_ON[index.alignedOn] : "features the artifact does not record"
  const alignedOn = index.alignedOn ? `, aligned on ${index.alignedOn}` : ""
  return table(
    `Organ localization — ${name}${alignedOn}: mean interval IoU (0–1) per organ and localizer`,
    ["organ", ...LOCALIZERS],
    body,
    {
      cls: "localizers",
      rowClasses: organs.map((o) => (o.labelId === null ? "headline" : o.wholeBody ? "whole-body" : "")),
      detail:
        `"aligned" maps every other volume's organ ends onto this one through an affine slice alignment on ${features}, and takes the median. ` +
        `"proportional-median" takes the median of the other volumes' organ ends at the same relative positions, without the encoder: the fair baseline. ` +
        `"score-range" and "proportional" are the authors' protocol, one reference volume at a time, averaged over (reference, query) pairs. ` +
        "Highlighted: the best encoder-based value of each row; only outlined where a baseline still does better."
    }
  )
}

/** Bars of one localizer pair for every Localization that has them, and their organ groups in table order. */
const pairBars = (data: ReadonlyArray<Loc>, pair: LocalizerPair, short: (l: Loc) => string) => {
  const means = data.flatMap((l) =>
    organMeans(l.index)
      .filter((r) => r.localizer === pair.encoder || r.localizer === pair.baseline)
      .map((r) => ({ l, r }))
  )
  const rows: Array<IntervalRow> = means.map(({ l, r }) => ({
    method: short(l),
    organ: facetName(r),
    localizer: r.localizer,
    iou: r.meanIoU
  }))
  const organs = uniqueSorted(
    means.map(({ r }) => r),
    facetName,
    organRank
  ).map(facetName)
  return { rows, organs }
}

const localizationSection = async (data: ReadonlyArray<Loc>): Promise<string> => {
  if (data.length === 0) return ""
  const { label, short } = localizationNames(data)
  const methodOrder = sortMethods(data.map((l) => l.index.method))
  const methodRank = (method: string) => methodOrder.indexOf(method)
  const points = data.flatMap((l) =>
    l.index.volumes.flatMap((v) =>
      v.scores.map((score, i) => ({ method: short(l), volume: v.id, position: v.scores.length > 1 ? i / (v.scores.length - 1) : 0, score }))
    )
  )
  const spearmanRows = data.map((l) => {
    const rhos = l.index.volumes.map((v) => v.spearman)
    return [escape(label(l)), String(rhos.length), rhos.length ? num(mean(rhos)) : "–", rhos.length ? num(Math.min(...rhos)) : "–"]
  })
  // artifacts without a summary keep the pair table they always had
  const pairRows = data
    .filter((l) => l.index.summary === undefined)
    .flatMap((l) =>
      pairsByOrgan(l.index).map((pairs) => {
        const wins = pairs.filter((p) => p.iou > p.proportionalIou).length
        return [
          escape(label(l)),
          escape(pairs[0].name),
          String(pairs.length),
          num(mean(pairs.map((p) => p.iou))),
          num(mean(pairs.map((p) => p.proportionalIou))),
          `${wins}/${pairs.length}`
        ]
      })
    )
  const multi = pairBars(data, MULTI_REFERENCE, short)
  const pairwise = pairBars(data, PAIRWISE, short)
  const partialRows = data
    .filter((l) => l.index.partialScans.length > 0)
    .map((l) => {
      const errs = l.index.partialScans.map((p) => p.errorSlices)
      return [escape(label(l)), String(errs.length), num(mean(errs), 1), String(Math.max(...errs))]
    })
  const parts = [
    points.length > 0
      ? await figure(
          scoreScatter(points),
          "Score of every slice against its position, one panel per method, each on its own y scale. A useful score rises steadily " +
            "from the first slice to the last in every volume (shades of the method's color, light = first volume id); Spearman ρ below."
        )
      : "",
    table("Spearman correlation of score with slice position", ["method", "volumes", "mean ρ", "min ρ"], spearmanRows),
    ...data
      .filter((l) => l.index.summary !== undefined)
      .sort((a, b) => methodRank(a.index.method) - methodRank(b.index.method))
      .map((l) => localizerTable(l.index, label(l))),
    multi.rows.length > 0
      ? await figure(
          intervalBars(multi.rows, multi.organs, MULTI_REFERENCE),
          'Mean interval IoU per organ with every other volume as a reference: each method\'s "aligned" localizer (its color) beside ' +
            'the "proportional-median" baseline on the same queries (grey: it uses no encoder). Label-free localization beats the ' +
            "baseline where the colored bar is taller; whole-body organs fit any placement and are left out of the mean."
        )
      : "",
    pairwise.rows.length > 0
      ? await figure(
          intervalBars(pairwise.rows, pairwise.organs, PAIRWISE, PAIR_CHART_HEIGHT),
          "The authors' one-reference protocol, mean interval IoU over (reference, query) volume pairs: each method's score-range " +
            "localizer (its color) beside proportional placement on the same pairs (grey)."
        )
      : note("No organ intervals were localized (the method has no score, or no labels)."),
    pairRows.length > 0
      ? table(
          "Organ localization: interval IoU over all (reference, query) pairs",
          ["method", "organ", "pairs", "score range", "proportional", "score wins"],
          pairRows
        )
      : "",
    partialRows.length > 0
      ? table(
          "Partial scans located inside a full reference volume",
          ["method", "scans", "mean |offset error| (slices)", "max"],
          partialRows
        )
      : ""
  ]
  return section("localization", "Localization without labels", parts.join(""))
}

/**
 * One line per Localization for the terminal: the headline of the multi-reference localizers, or
 * for artifacts without a summary the pair protocol's mean over organs.
 */
export const localizationTextLines = (data: ReadonlyArray<Loc>): Array<string> => {
  const { short } = localizationNames(data)
  return data.map((l) => {
    const head = `localization (${short(l)}):`
    const means = organMeans(l.index)
    if (l.index.summary === undefined) {
      if (means.length === 0) return `${head} no organ intervals localized`
      const over = (loc: Localizer) => num(mean(means.filter((r) => r.localizer === loc).map((r) => r.meanIoU)))
      return (
        `${head} score-range ${over("score-range")} vs proportional ${over("proportional")} ` +
        `mean interval IoU over (reference, query) pairs (no multi-reference summary in this artifact)`
      )
    }
    const headline = (loc: Localizer) => means.find((r) => r.labelId === null && r.localizer === loc)
    const [aligned, baseline] = [headline("aligned"), headline("proportional-median")]
    const wholeBody = [...new Set(means.filter((r) => r.wholeBody && r.labelId !== null).map((r) => r.name))]
    const leftOut = wholeBody.length > 0 ? ` (${wholeBody.join(", ")} left out: whole-body)` : ""
    if (!aligned || !baseline) return `${head} no headline: no organ outside the whole-body labels was localized${leftOut}`
    return `${head} aligned ${num(aligned.meanIoU)} vs proportional-median ${num(baseline.meanIoU)} mean interval IoU${leftOut}`
  })
}

const embeddingsSection = async (data: ReportData["embeddings"] = []): Promise<string> => {
  if (data.length === 0) return ""
  const rows: Array<ProjectionRow> = data.flatMap((e) =>
    e.index.volumes.flatMap((v) =>
      v.projection.map(([pc1, pc2], z) => ({
        panel: `${e.producer} (${e.index.method})`,
        volume: v.id,
        position: v.slices > 1 ? z / (v.slices - 1) : 0,
        pc1,
        pc2
      }))
    )
  )
  const explained = data.map((e) => {
    const [a, b] = e.index.explainedVariance.map(pct)
    return `${e.producer}: PC1 ${a} %, PC2 ${b} %`
  })
  return section(
    "embeddings",
    "Slice embeddings",
    note(
      "Every slice's embedding (the encoder's pooled features) on the first two principal components of all slices of the artifact, " +
        "coloured by the slice's position in its volume (dark = first, yellow = last). Variance explained: " +
        explained.join("; ") +
        "."
    ) + (await figure(projectionScatter(rows), "Slice embeddings, PCA, coloured by slice position"))
  )
}

const examplesSection = (data: ReportData): string => {
  const figures: Array<string> = []
  for (const m of data.metrics) {
    for (const e of m.index.examples ?? []) {
      const bytes = data.images.get(`${m.producer}/${e.png}`)
      if (!bytes) continue
      figures.push(
        `<figure><img class="slice" alt="${escape(exampleCaption(e))}" src="data:image/png;base64,${Buffer.from(bytes).toString("base64")}">` +
          `<figcaption>${escape(exampleCaption(e))}</figcaption></figure>`
      )
    }
  }
  if (figures.length === 0) return ""
  return section("examples", "Example slices", note("Left: the slice; middle: ground truth; right: prediction.") + figures.join(""))
}

const exampleCaption = (e: SegmentationExample): string =>
  `${e.pretraining}, ${budgetLabel(e)}, seed ${e.seed} — ${e.split}, volume ${e.volume}, slice ${e.slice}`

export const buildReport = async (data: ReportData): Promise<string> => {
  const body = [
    await segmentationSection(data),
    await pretrainingSection(data.encoders),
    await finetuneSection(data.segmenters),
    await localizationSection(data.localizations),
    await embeddingsSection(data.embeddings),
    examplesSection(data)
  ].join("\n")
  return page(data.title, body)
}
