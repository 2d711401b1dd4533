/**
 * The promise end to end on a tiny phantom: `run --set sorting.margin=0.1,0.5` trains two
 * cached variants, `compare` prints both with their held-out Spearman and pair accuracy, and `report`
 * draws both on one page.
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { cli, jsonLines, stagesWith, tempDir, writePipeline } from "../runner/testing.ts"

const TINY = `pipeline: tiny-sweep
stages:
  data: { uses: ingest, with: { source: "phantom:torso", volumes: 3, size: 24, slices: 16, seed: 0 } }
  norm: { uses: normalize, in: { volumes: data.volumes }, with: { window: [-1000, 400], size: 16 } }
  tuples: { uses: tuple-sample, in: { volumes: norm.volumes }, with: { mode: unique, groupSize: 8, groupsPerEpoch: 4, epochs: 1, validation: 1, seed: 1 } }
  sorting:
    uses: pretrain-sorting
    in: { tuples: tuples.tuples }
    with: { inputSize: 16, width: 0.25, steps: 4, validationSlices: 8, augment: { flip: { p: 0 }, affine: { p: 0 }, equalize: { p: 0 } } }
`

test("run --set sorting.margin=0.1,0.5 trains two cached variants; compare shows both with spearman and pairsCorrect; report draws both", async () => {
  const dir = tempDir("tomoprior-compare-")
  const file = writePipeline(dir, "tiny.yaml", TINY)
  const run = await cli(["run", file, "--set", "sorting.margin=0.1,0.5", "--json"], dir)
  assert.equal(run.code, 0, run.stdout + run.stderr)
  assert.equal(jsonLines(run.stdout).filter((e) => e.type === "stage-done" && e.stage === "sorting").length, 2)
  const again = await cli(["run", file, "--set", "sorting.margin=0.1,0.5", "--json"], dir)
  assert.deepEqual(stagesWith(again.stdout, "stage-start"), [])

  const lock = JSON.parse(readFileSync(join(dir, "tiny.lock.json"), "utf8"))
  const final = (variant: string) =>
    JSON.parse(readFileSync(join(dir, ".tomoprior/artifacts", lock.variants[variant].stages.sorting.outputs.encoder, "index.json"), "utf8"))
      .final
  const shown = await cli(["compare", file], dir)
  assert.equal(shown.code, 0, shown.stderr)
  const lines = shown.stdout.split("\n")
  assert.match(lines[0], /^ +sorting\.margin=0\.1 +sorting\.margin=0\.5 +Δ$/)
  assert.ok(
    lines.some((l) => /^sorting\.margin +0\.1 +0\.5$/.test(l)),
    shown.stdout
  )
  for (const metric of ["spearman", "pairsCorrect"]) {
    const [a, b] = [final("sorting.margin=0.1")[metric], final("sorting.margin=0.5")[metric]] as Array<number>
    const row = lines.find((l) => l.startsWith(`sorting ${metric} `))
    assert.ok(row, shown.stdout)
    assert.deepEqual(row.split(/ {2,}/).slice(1, 3), [a.toFixed(3), b.toFixed(3)])
  }
  // One report over both variants: each is a method of its own, drawn on the same loss chart.
  const report = await cli(["report", file, "--out", "variants.html"], dir)
  assert.equal(report.code, 0, report.stderr)
  assert.equal(report.stdout, "report: variants.html\n")
  const html = readFileSync(join(dir, "variants.html"), "utf8")
  for (const label of ["sorting (sorting.margin=0.1)", "sorting (sorting.margin=0.5)"]) assert.ok(html.includes(label), label)
  assert.equal(html.split(">sorting — hinge loss</text>").length - 1, 1, "one loss panel for both variants")
  const json = JSON.parse((await cli(["compare", file, "--json"], dir)).stdout)
  assert.deepEqual(
    json.runs.map((r: { variant: string }) => r.variant),
    ["sorting.margin=0.1", "sorting.margin=0.5"]
  )
})
