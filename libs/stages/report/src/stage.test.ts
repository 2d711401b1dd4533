import assert from "node:assert/strict"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { artifactFromDir, checkParamsTable, runStageForTest, tempDir } from "@tomoprior/testkit"
import { localizationTextLines } from "./build.ts"
import { embeddingsIndex, pairOnlyLocalization, reportFixtures, summarizedLocalization } from "./testing.ts"
import { marksOf, svgsOf } from "./svg-marks.ts"
import { ReportParams } from "./params.ts"
import { reportStage } from "./stage.ts"

test("the report is one self-contained page with the IoU table, charts and inline images", async () => {
  const run = await Effect.runPromise(runStageForTest(reportStage, { params: { title: "Demo <report>" }, inputs: reportFixtures() }))
  const dir = run.outputs.report.dir
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "index.json"), "utf8")), { kind: "Report", html: "report.html" })
  const html = readFileSync(join(dir, "report.html"), "utf8")
  assert.ok(html.includes("<title>Demo &lt;report&gt;</title>"), "title is escaped")
  // the paper-shaped table: methods as rows, label budgets as columns, IoU ×100 mean ± std
  const table = html.slice(html.indexOf("Mean foreground IoU — extrapolation"))
  assert.match(table, /<th>10 %<\/th><th>100 %<\/th>/)
  assert.match(table, /<td>none<\/td><td>42\.3 ± 5\.0 <small>\(n=2\)<\/small><\/td><td>–<\/td>/)
  assert.match(table, /<td>sorting<\/td><td>50\.0 ± 14\.1 <small>\(n=2\)<\/small><\/td><td>81\.0 ± 2\.0/)
  // IoU vs fraction, pre-training loss, held-out metrics, fine-tuning loss, score scatter, both interval charts, embeddings
  assert.equal(html.match(/<svg /g)?.length, 8)
  assert.match(html, /<img class="slice" alt="[^"]+" src="data:image\/png;base64,iVBORw0KGgo/)
  // the Localization with a summary gets the localizer table, the one written before it the pair table
  assert.equal(html.match(/<table class="localizers">/g)?.length, 1)
  assert.match(html, /<caption>Organ localization — sorting \(localize\)/)
  // pair table: mean over the two pairs, 1 of 2 wins for the score localizer
  assert.match(
    html,
    /<td>simclr \(PC1 of embeddings\) \(localize-v1\)<\/td><td>lungs<\/td><td>2<\/td><td>0\.750<\/td><td>0\.750<\/td><td>1\/2<\/td>/
  )
  // the terminal gets the same table as text, and one headline per Localization
  assert.ok(
    run.logs.some((l) => l.includes("none          42.3 ± 5.0   –") && l.includes("sorting       50.0 ± 14.1  81.0 ± 2.0")),
    run.logs.join("\n")
  )
  const headlines = run.logs.filter((l) => l.startsWith("localization ("))
  assert.deepEqual(
    headlines,
    localizationTextLines([
      { producer: "localize", index: summarizedLocalization() },
      { producer: "localize-v1", index: pairOnlyLocalization() }
    ])
  )
  assert.match(
    headlines[0],
    /^localization \(sorting\): aligned \d\.\d{3} vs proportional-median \d\.\d{3} mean interval IoU \(spine left out: whole-body\)$/
  )
  // nothing to fetch when viewing
  assert.doesNotMatch(html, /<script|<link|src="http|href="http|url\(http/)
})

test("the embeddings section draws every slice at its PCA coordinates, coloured from dark (first slice) to yellow (last)", async () => {
  const run = await Effect.runPromise(runStageForTest(reportStage, { params: {}, inputs: reportFixtures() }))
  const html = readFileSync(join(run.outputs.report.dir, "report.html"), "utf8")
  assert.match(html, /Variance explained: embed: PC1 61\.0 %, PC2 22\.0 %\./)
  const chart = svgsOf(html).find((svg) => svg.includes("X-axis titled 'PC1'"))!
  const points = marksOf(chart).filter((m) => m.kind === "point")
  const want = embeddingsIndex().volumes.flatMap((v) =>
    v.projection.map(([pc1, pc2], z) => ({ volume: v.id, pc1, pc2, position: z / (v.slices - 1) }))
  )
  assert.equal(points.length, want.length)
  const number = (s: string) => Number(s.replace("−", "-"))
  for (const w of want) {
    const p = points.find((m) => number(m.fields["PC1"]) === w.pc1 && number(m.fields["PC2"]) === w.pc2 && m.fields["volume"] === w.volume)
    assert.ok(p, `no point for ${JSON.stringify(w)}`)
    assert.ok(Math.abs(number(p.fields["slice position"]) - w.position) < 0.01, JSON.stringify([p.fields, w]))
  }
  // viridis ends (a continuous scale paints rgb()): the first slices dark purple, the last ones yellow
  const fills = (position: number) =>
    [...chart.matchAll(new RegExp(`slice position: ${position}; volume: v\\d"[^>]*fill="([^"]+)"`, "g"))].map((m) => m[1])
  assert.deepEqual(fills(0), ["rgb(68, 1, 84)", "rgb(68, 1, 84)"])
  assert.deepEqual(fills(1), ["rgb(253, 231, 37)", "rgb(253, 231, 37)"])
})

test("an invalid input index is reported with its file", async () => {
  const dir = tempDir()
  writeFileSync(join(dir, "index.json"), JSON.stringify({ kind: "Metrics", rows: "nope" }))
  const exit = await Effect.runPromiseExit(
    runStageForTest(reportStage, {
      inputs: { metrics: [artifactFromDir("Metrics", dir)], encoders: [], segmenters: [], localizations: [], embeddings: [] }
    })
  )
  assert.equal(exit._tag, "Failure")
  assert.match(String(exit.cause), /InputError[\s\S]*index\.json/)
})

test("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), ReportParams)
})
