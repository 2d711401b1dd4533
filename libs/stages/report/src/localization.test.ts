/**
 * The localization section against the Localization indexes it was built from: the per-localizer
 * table, both interval charts, the terminal headline, and artifacts written before the summary.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import { LOCALIZERS, type LocalizationIndex } from "@tomoprior/core"
import { buildReport, localizationTextLines, type ReportData } from "./build.ts"
import { demoLikeReport, mean, pairOnlyLocalization, summarizedLocalization } from "./testing.ts"
import { barsByPanel, svgsOf } from "./svg-marks.ts"

type Summary = NonNullable<LocalizationIndex["summary"]>

const report = (localizations: ReportData["localizations"]): Promise<string> =>
  buildReport({ title: "localization", encoders: [], segmenters: [], metrics: [], localizations, images: new Map() })

/** The text a cell or caption shows: tags dropped, the entities `escape` writes turned back. */
const text = (html: string): string =>
  html
    .replace(/<[^>]+>/g, "")
    .replaceAll("&quot;", '"')
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&")
    .trim()

interface Row {
  readonly cls: string
  /** The organ cell's first text: the name without its note. */
  readonly organ: string
  readonly organCell: string
  readonly cells: ReadonlyArray<string>
}

/** The localizer tables of a page: caption, header and rows. */
const localizerTables = (html: string) =>
  [...html.matchAll(/<table class="localizers">([\s\S]*?)<\/table>/g)].map(([, t]) => ({
    caption: text(/<caption>([\s\S]*?)<\/caption>/.exec(t)![1]),
    header: [...t.matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]),
    rows: [...t.split("<tbody>")[1].matchAll(/<tr(?: class="([^"]*)")?>([\s\S]*?)<\/tr>/g)].map(([, cls, tr]): Row => {
      const tds = [...tr.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1])
      return { cls: cls ?? "", organ: text(tds[0].split("<small>")[0]), organCell: tds[0], cells: tds.slice(1) }
    })
  }))

const headline = (summary: Summary, localizer: string) => summary.find((r) => r.labelId === null && r.localizer === localizer)!

test("every cell of the localizer table is the index's mean IoU for that organ and localizer", async () => {
  const index = summarizedLocalization()
  const [table] = localizerTables(await report([{ producer: "localize", index }]))
  assert.deepEqual(table.header, ["organ", ...LOCALIZERS])
  const summary = index.summary!
  assert.equal(table.rows.length, new Set(summary.map((r) => r.labelId)).size)
  for (const r of summary) {
    const row = table.rows.find((t) => t.organ === r.name)
    assert.ok(row, `no row for ${r.name}`)
    assert.equal(text(row.cells[LOCALIZERS.indexOf(r.localizer)]), r.meanIoU.toFixed(3), `${r.name} / ${r.localizer}`)
  }
  assert.match(table.caption, /sorting \(localize\)/)
  assert.match(table.caption, /"aligned" .*pooled slice features \(embeddings\)/)
  assert.match(table.caption, /"proportional-median" .*without the encoder/)
})

test("organs come first, then the bold headline, then the whole-body organs with their reason", async () => {
  // eight organs: the spine (label 4) is whole-body and moves below the headline
  const { localizations } = demoLikeReport(["sorting"], { organs: 8 })
  const [{ index }] = localizations
  const [table] = localizerTables(await report(localizations))
  const organs = index.summary!.filter((r) => r.localizer === "aligned" && r.labelId !== null)
  const expected = [
    ...organs.filter((r) => !r.wholeBody).map((r) => r.name),
    headline(index.summary!, "aligned").name,
    ...organs.filter((r) => r.wholeBody).map((r) => r.name)
  ]
  assert.deepEqual(
    table.rows.map((r) => r.organ),
    expected
  )
  assert.equal(expected.at(-1), "spine")
  assert.deepEqual(
    table.rows.map((r) => r.cls),
    [...organs.filter((r) => !r.wholeBody).map(() => ""), "headline", "whole-body"]
  )
  assert.match(table.rows.at(-1)!.organCell, /<small>whole-body: [^<]*any placement fits/)
  assert.doesNotMatch(table.rows.at(-2)!.organCell, /<small>/)
})

test("the best encoder-based value of each row is highlighted (only outlined when a baseline does better), never a baseline's", async () => {
  const index = summarizedLocalization()
  const [table] = localizerTables(await report([{ producer: "localize", index }]))
  const encoderBased: ReadonlyArray<string> = LOCALIZERS.filter((l) => l === "aligned" || l === "score-range")
  const baselines = LOCALIZERS.filter((l) => !encoderBased.includes(l))
  const highlighted = new Map<string, Array<string>>()
  const outlined = new Set<string>()
  for (const row of table.rows) {
    highlighted.set(
      row.organ,
      LOCALIZERS.filter((_, j) => row.cells[j].includes('<mark class="best'))
    )
    if (row.cells.some((c) => c.includes('<mark class="best below-baseline">'))) outlined.add(row.organ)
  }
  for (const [organ, marked] of highlighted) {
    const value = (l: string) => index.summary!.find((r) => r.name === organ && r.localizer === l)!.meanIoU
    const values = encoderBased.map(value)
    assert.deepEqual(marked, [encoderBased[values.indexOf(Math.max(...values))]], organ)
    assert.equal(outlined.has(organ), Math.max(...values) < Math.max(...baselines.map(value)), organ)
  }
  // the fixture makes aligned win lungs and score-range win heart, so both columns are exercised,
  // and both baselines beat every encoder-based value on the whole-body spine
  assert.deepEqual(highlighted.get("lungs"), ["aligned"])
  assert.deepEqual(highlighted.get("heart"), ["score-range"])
  assert.deepEqual([...outlined], ["spine"])
})

test("the interval charts show aligned vs proportional-median and score-range vs proportional per organ, from the summary", async () => {
  const index = summarizedLocalization()
  const svgs = svgsOf(await report([{ producer: "localize", index }]))
  const chart = (encoder: string) => svgs.find((s) => s.includes(`Symbol legend titled '${encoder} (method color) vs baseline'`))!
  const facet = (r: Summary[number]) => (r.labelId === null ? "mean over organs" : r.wholeBody ? `${r.name} (whole-body)` : r.name)
  for (const [encoder, baseline] of [
    ["aligned", "proportional-median"],
    ["score-range", "proportional"]
  ]) {
    const panels = barsByPanel(chart(encoder))
    assert.deepEqual([...panels.keys()], ["lungs", "heart", "mean over organs", "spine (whole-body)"])
    for (const r of index.summary!.filter((r) => r.localizer === encoder || r.localizer === baseline)) {
      const bar = panels.get(facet(r))!.find((m) => m.fields["localizer"] === r.localizer)!
      assert.ok(Math.abs(Number(bar.fields["mean interval IoU (0–1)"]) - r.meanIoU) < 5e-4, `${encoder}: ${facet(r)} ${r.localizer}`)
    }
  }
})

test("the terminal line gives the headline of aligned vs proportional-median and names the whole-body organs left out", () => {
  const index = summarizedLocalization()
  const s = index.summary!
  assert.deepEqual(localizationTextLines([{ producer: "localize", index }]), [
    `localization (sorting): aligned ${headline(s, "aligned").meanIoU.toFixed(3)} vs proportional-median ` +
      `${headline(s, "proportional-median").meanIoU.toFixed(3)} mean interval IoU (spine left out: whole-body)`
  ])
  // without whole-body organs there is nothing to say was left out; two inputs of one method are named by producer
  const [a, b] = demoLikeReport(["sorting", "simclr"]).localizations
  const lines = localizationTextLines([a, { producer: "loc-again", index: { ...b.index, method: a.index.method } }])
  assert.equal(lines.length, 2)
  assert.match(lines[0], /^localization \(sorting \(loc-sorting\)\): aligned \d\.\d{3} vs proportional-median \d\.\d{3} mean interval IoU$/)
  assert.match(lines[1], /^localization \(sorting \(loc-again\)\): /)
})

test("a Localization written before the summary still renders: the pair table, the pair chart and a pair-protocol line", async () => {
  const index = pairOnlyLocalization()
  const html = await report([{ producer: "localize-v1", index }])
  assert.deepEqual(localizerTables(html), [])
  const [iou, proportional] = [mean(index.organs.map((o) => o.iou)), mean(index.organs.map((o) => o.proportionalIou))]
  const wins = index.organs.filter((o) => o.iou > o.proportionalIou).length
  assert.ok(
    html.includes(
      `<td>simclr (PC1 of embeddings) (localize-v1)</td><td>lungs</td><td>2</td><td>${iou.toFixed(3)}</td><td>${proportional.toFixed(3)}</td><td>${wins}/2</td>`
    )
  )
  const svgs = svgsOf(html)
  // the score scatter and the pair chart; no multi-reference chart without its numbers
  assert.equal(svgs.length, 2)
  assert.ok(!svgs.some((s) => s.includes("'aligned (method color) vs baseline'")))
  const bars = barsByPanel(svgs.find((s) => s.includes("'score-range (method color) vs baseline'"))!).get("lungs")!
  assert.equal(Number(bars.find((m) => m.fields["localizer"] === "score-range")!.fields["mean interval IoU (0–1)"]), iou)
  assert.deepEqual(localizationTextLines([{ producer: "localize-v1", index }]), [
    `localization (simclr (PC1 of embeddings)): score-range ${iou.toFixed(3)} vs proportional ${proportional.toFixed(3)} ` +
      `mean interval IoU over (reference, query) pairs (no multi-reference summary in this artifact)`
  ])
})
