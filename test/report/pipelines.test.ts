/**
 * The demo pipeline and the real-data templates validate against the workspace's stages (nothing
 * runs; the templates' data paths need not exist), and wire what they promise.
 */
import assert from "node:assert/strict"
import { existsSync, readdirSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { builtinRegistry } from "@tomoprior/catalog"
import { resolvePipelineFile } from "@tomoprior/runner"
import { cli, tempDir } from "../runner/testing.ts"

const root = resolve(import.meta.dirname, "../..")
const load = (name: string) => Effect.runPromise(resolvePipelineFile(join(root, "pipelines", name)).pipe(Effect.provide(builtinRegistry)))
const params = (p: Awaited<ReturnType<typeof load>>, id: string) => p.nodes.find((n) => n.id === id)?.params as Record<string, unknown>

test("demo: three pre-training choices × 3 fractions × 5 seeds feed one evaluate and the report", async () => {
  const p = await load("demo.yaml")
  const finetunes = p.nodes.filter((n) => n.stage.name === "finetune")
  assert.equal(finetunes.length, 45)
  for (const f of ["0.01", "0.1", "1"])
    for (const s of [1, 2, 3, 4, 5])
      assert.ok(
        p.nodes.some((n) => n.id === `ft-none[fraction=${f},seed=${s}]`),
        `${f}/${s}`
      )
  assert.equal(finetunes.filter((n) => n.inputs.encoder === undefined).length, 15)
  for (const n of finetunes) assert.equal((n.params as Record<string, unknown>).heldOut, 6, n.id)
  const evaluate = p.nodes.find((n) => n.id === "evaluate")!
  assert.equal(evaluate.inputs.segmenters.wires.length, 45)
  const report = p.nodes.find((n) => n.id === "report")!
  assert.deepEqual(Object.keys(report.inputs).sort(), ["encoders", "localizations", "metrics", "segmenters"])
  // the random-init baseline has the pre-trained encoders' width and input size
  assert.equal(params(p, "ft-none[fraction=1,seed=1]").width, params(p, "sorting").width)
  assert.equal(params(p, "ft-none[fraction=1,seed=1]").inputSize, params(p, "sorting").inputSize)
})

test("demo-low-budget is the demo's 1 % part: sorting and random init, 5 seeds, the demo's params (so its runs are the demo's)", async () => {
  const demo = await load("demo.yaml")
  const low = await load("demo-low-budget.yaml")
  const finetunes = low.nodes.filter((n) => n.stage.name === "finetune")
  assert.deepEqual(finetunes.map((n) => n.id).sort(), [
    ...[1, 2, 3, 4, 5].map((s) => `ft-none[fraction=0.01,seed=${s}]`),
    ...[1, 2, 3, 4, 5].map((s) => `ft-sorting[fraction=0.01,seed=${s}]`)
  ])
  assert.equal(
    low.nodes.some((n) => n.stage.name === "pretrain-simclr" || n.stage.name === "report"),
    false
  )
  for (const n of low.nodes) assert.deepEqual(n.params, params(demo, n.id), n.id)
  assert.equal(low.nodes.find((n) => n.id === "evaluate")!.inputs.segmenters.wires.length, 10)
})

test("covid-lungs and medaka point the same chain at NIfTI / TIFF paths given as params", async () => {
  const covid = await load("covid-lungs.yaml")
  assert.equal(params(covid, "data").source, "../data/COVID-19-CT-Seg_20cases/*.nii.gz")
  assert.equal(params(covid, "data").labels, "../Lung_Mask/{name}.nii.gz")
  assert.deepEqual(params(covid, "norm").window, [-900, 500])
  assert.equal(params(covid, "norm").size, 128)
  const medaka = await load("medaka.yaml")
  assert.equal(params(medaka, "data").source, "../data/medaka/fish/*.tif")
  assert.deepEqual(params(medaka, "norm").percentiles, [1, 99])
  assert.equal(params(medaka, "norm").window, undefined)
  for (const p of [covid, medaka]) {
    const finetunes = p.nodes.filter((n) => n.stage.name === "finetune")
    assert.equal(finetunes.length, 45)
    // their own ingest replaces the demo's (no hard phantom settings); they hold out 2 labeled volumes
    assert.equal(params(p, "data").difficulty, "standard")
    for (const n of finetunes) assert.equal((n.params as Record<string, unknown>).heldOut, 2, n.id)
  }
})

test("every pipeline in pipelines/ validates", async () => {
  const files = readdirSync(join(root, "pipelines")).filter((f) => f.endsWith(".yaml"))
  assert.ok(files.length >= 6, files.join(", "))
  for (const f of files) assert.ok((await load(f)).nodes.length > 0, f)
})

test("plan names a bad finetune combination (fraction and everyK) with its file and line, before anything runs", async () => {
  const dir = tempDir()
  const file = join(dir, "both.yaml")
  writeFileSync(
    file,
    [
      "pipeline: both",
      "stages:",
      "  data: { uses: ingest, with: { volumes: 2, size: 16, slices: 8 } }",
      "  ft:",
      "    uses: finetune",
      "    in: { volumes: data.volumes }",
      "    with:",
      "      fraction: 0.1",
      "      everyK: 5",
      ""
    ].join("\n")
  )
  const r = await cli(["plan", file, "--store", join(dir, "store")], dir)
  assert.equal(r.code, 2, r.stdout + r.stderr)
  assert.match(
    r.stderr,
    new RegExp(`^${file}:9:\\d+: invalid params for stage \`ft\` \\(finetune\\): give \`fraction\` or \`everyK\`, not both`)
  )
  assert.match(r.stderr, /nothing was run/)
  assert.ok(!existsSync(join(dir, "store")), "plan writes nothing")
})
