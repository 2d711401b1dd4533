/**
 * The promise end to end on a tiny phantom: `run --set sorting.margin=0.1,0.5` trains two
 * cached variants, and `compare` prints both with their held-out Spearman and pair accuracy.
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

test("run --set sorting.margin=0.1,0.5 trains two cached variants; compare shows both with spearman and pairsCorrect", async () => {
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
  const json = JSON.parse((await cli(["compare", file, "--json"], dir)).stdout)
  assert.deepEqual(
    json.runs.map((r: { variant: string }) => r.variant),
    ["sorting.margin=0.1", "sorting.margin=0.5"]
  )
})
