/**
 * Reads the colors and axes back out of the SVG the report embeds (vega labels every mark with
 * its fields in `aria-label`), for reports over different subsets and orders of methods.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import { buildReport } from "./build.ts"
import { demoLikeReport } from "./testing.ts"
import { BASELINE_GREY, methodColor, methodKey, shades } from "./palette.ts"
import { legendEntries, marksOf, svgsOf } from "./svg-marks.ts"

/** y axes titled `title`, as [low, high] of their scale domain. */
const yDomains = (svg: string, title: string): Array<[number, number]> =>
  [...svg.matchAll(/aria-label="Y-axis titled '([^']*)' for a linear scale with values from ([^ ]+) to ([^"]+)"/g)]
    .filter((m) => m[1] === title)
    .map((m) => [Number(m[2].replace("−", "-")), Number(m[3].replace("−", "-"))])

const VARIANTS = [
  ["none", "sorting", "simclr"],
  ["simclr", "none"],
  ["logistic", "sorting", "none", "simclr"],
  ["sorting"],
  ["newcomer", "simclr", "none"]
]

const reports = Promise.all(VARIANTS.map(async (methods) => ({ methods, svgs: svgsOf(await buildReport(demoLikeReport(methods))) })))

test("every chart and legend gives a method the same color, whatever methods the report holds and in what order", async () => {
  const seen = new Map<string, Set<string>>()
  const note = (label: string, color: string) => {
    const key = methodKey(label)
    seen.set(key, (seen.get(key) ?? new Set()).add(color))
  }
  for (const { methods, svgs } of await reports) {
    // the other legends name runs (dash patterns) or volumes, not methods
    const legends = svgs
      .flatMap(legendEntries)
      .filter((e) => ["method", "pre-training"].includes(e.title) || e.title.endsWith("vs baseline"))
    for (const e of legends) if (!e.label.endsWith("(baseline)")) note(e.label, e.color)
    // every chart that compares methods has a method legend: loss, held-out metrics, IoU, fine-tuning, both interval charts
    for (const m of methods) {
      const charts = svgs.filter((svg) => legendEntries(svg).some((e) => e.title !== "run" && methodKey(e.label) === m)).length
      assert.equal(charts, m === "none" ? 2 : 6, `${m} in [${methods}]`)
    }
    for (const mark of svgs.flatMap(marksOf)) {
      const method = mark.fields["method"] ?? mark.fields["pre-training"]
      const volume = mark.fields["volume"]
      if (volume !== undefined) {
        // score scatter: volumes are shades of their panel's method color, never another method's
        const m = volume.slice(0, volume.lastIndexOf(" / "))
        assert.ok(shades(methodColor(m), 4).includes(mark.color), `${volume}: ${mark.color}`)
        assert.notEqual(methodKey(m), "none")
      } else if (mark.fields["localizer"] === "proportional" || mark.fields["localizer"] === "proportional-median") {
        assert.equal(mark.color, BASELINE_GREY)
      } else {
        assert.ok(method !== undefined, JSON.stringify(mark.fields))
        note(method, mark.color)
      }
    }
  }
  assert.deepEqual([...seen.keys()].sort(), ["logistic", "newcomer", "none", "simclr", "sorting"])
  for (const [m, colors] of seen) assert.equal(colors.size, 1, `${m}: ${[...colors]}`)
  const colors = [...seen.values()].map((c) => [...c][0])
  assert.equal(new Set([...colors, BASELINE_GREY]).size, seen.size + 1, "different methods, different colors")
})

test("pre-training loss: one panel per method, x = training step, each with a y scale fitted to its own loss", async () => {
  const [{ svgs }] = await reports
  const chart = svgs.find((svg) => svg.includes("Y-axis titled 'loss (own scale per panel)'"))!
  const domains = yDomains(chart, "loss (own scale per panel)")
  assert.equal(domains.length, 2)
  assert.equal([...chart.matchAll(/X-axis titled 'training step'/g)].length, 2)
  const losses = new Map<string, Array<number>>()
  for (const mark of marksOf(chart).filter((m) => m.kind === "point")) {
    const m = mark.fields["method"]
    losses.set(m, [...(losses.get(m) ?? []), Number(mark.fields["loss (own scale per panel)"].replace("−", "-"))])
  }
  assert.deepEqual([...losses.keys()].sort(), ["simclr", "sorting"])
  for (const [m, values] of losses) {
    const [lo, hi] = [Math.min(...values), Math.max(...values)]
    // an axis that holds this method's losses and is not much wider than them (a shared 0–6.5 axis is not)
    const fitted = domains.filter(([a, b]) => a <= lo && b >= hi && b - a <= 1.5 * (hi - lo))
    assert.equal(fitted.length, 1, `${m}: losses ${lo}–${hi}, axes ${JSON.stringify(domains)}`)
  }
  // held-out metrics likewise: one y axis per method × metric (sorting 3, simclr 3)
  const held = svgs.find((svg) => svg.includes("Y-axis titled 'value (own scale per panel)'"))!
  assert.equal(yDomains(held, "value (own scale per panel)").length, 6)
  assert.doesNotMatch(held, /slicesPerSecond/)
})

test("two encoders of one method share its panel and color and are told apart by dashes", async () => {
  const data = demoLikeReport(["sorting", "simclr"])
  const [first] = data.encoders
  const second = {
    producer: "pretrain-sorting-long",
    index: { ...first.index, history: first.index.history.map((h) => ({ ...h, loss: h.loss / 2 })) }
  }
  const svgs = svgsOf(await buildReport({ ...data, encoders: [...data.encoders, second] }))
  const chart = svgs.find((svg) => svg.includes("Y-axis titled 'loss (own scale per panel)'"))!
  assert.equal(yDomains(chart, "loss (own scale per panel)").length, 2)
  const lines = marksOf(chart).filter((m) => m.kind === "line mark")
  assert.deepEqual(lines.map((l) => `${l.fields["method"]} ${l.color}`).sort(), [
    `simclr ${methodColor("simclr")}`,
    `sorting ${methodColor("sorting")}`,
    `sorting ${methodColor("sorting")}`
  ])
  const runs = legendEntries(chart)
    .filter((e) => e.title === "run")
    .map((e) => e.label)
  assert.deepEqual(runs.sort(), ["pretrain-simclr", "pretrain-sorting", "pretrain-sorting-long"])
})
