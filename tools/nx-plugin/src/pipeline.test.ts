import assert from "node:assert/strict"
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { test } from "node:test"
import type { Diagnostic } from "@tomoprior/core"
import { readPipelineSpec } from "@tomoprior/runner"
import { readPipelineGraph } from "./pipeline.ts"

const REPO = resolve(import.meta.dirname, "../../..")
const yamlFiles = (dir: string) =>
  readdirSync(join(REPO, dir))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => join(REPO, dir, f))

/** The runner's reading of a pipeline reduced to what the graph holds: ids, types, upstream stage ids. */
const runnerView = (file: string) => {
  const diagnostics: Array<Diagnostic> = []
  const spec = readPipelineSpec(file, diagnostics)
  if (!spec || diagnostics.length > 0) return undefined
  const ids = new Set(spec.stages.map((s) => s.id))
  const refs = (v: string | ReadonlyArray<{ value: string }>) => (typeof v === "string" ? [v] : v.map((r) => r.value))
  return {
    plugins: spec.plugins.map((p) => p.value),
    stages: spec.stages.map((s) => ({
      id: s.id,
      uses: s.uses?.value,
      upstream: [...new Set(Object.values(s.in).flatMap((i) => refs(i.value).map((r) => r.split(/[.[]/)[0])))]
        .filter((id) => ids.has(id))
        .sort()
    }))
  }
}

test("the graph of every pipeline, shipped or test fixture, is the runner's own reading of it", () => {
  const files = [...yamlFiles("pipelines"), ...yamlFiles("test/runner/broken")]
  let compared = 0
  for (const file of files) {
    const expected = runnerView(file)
    if (!expected) continue // the runner rejects the file's shape; its graph is best effort (next test)
    const graph = readPipelineGraph(file)
    assert.deepEqual({ plugins: graph.plugins, stages: graph.stages }, expected, file)
    assert.deepEqual(graph.problems, [], file)
    compared += 1
  }
  // all six shipped pipelines and the fixtures whose faults lie past the shape (cycles, unknown types, kinds…)
  assert.ok(compared >= 20, `compared ${compared} of ${files.length} files`)
})

test("extends: the chain of files, overrides merged by stage id, `null` dropping an inherited stage", () => {
  const graph = readPipelineGraph(join(REPO, "pipelines/covid-lungs.yaml"))
  assert.deepEqual(
    graph.files.map((f) => f.slice(REPO.length + 1)),
    ["pipelines/covid-lungs.yaml", "pipelines/demo.yaml"]
  )
  const demo = readPipelineGraph(join(REPO, "pipelines/pretrain-demo.yaml")).stages
  const simclr = readPipelineGraph(join(REPO, "pipelines/pretrain-demo-simclr.yaml")).stages
  assert.deepEqual(demo.at(-1), { id: "sorting", uses: "pretrain-sorting", upstream: ["tuples"] })
  // `sorting: null` drops the inherited stage; `simclr` replaces it under its own id
  assert.deepEqual(
    simclr.map((s) => s.id),
    ["data", "norm", "tuples", "simclr"]
  )
  assert.deepEqual(simclr.at(-1), { id: "simclr", uses: "pretrain-simclr", upstream: ["tuples"] })
})

test("a broken file yields what could be read and problems located by file, line and column", () => {
  const dir = mkdtempSync(join(tmpdir(), "pipeline-graph-"))
  try {
    writeFileSync(join(dir, "syntax.yaml"), "pipeline: x\nstages:\n  a: { uses: ingest\n  b: [\n")
    const syntax = readPipelineGraph(join(dir, "syntax.yaml"))
    assert.deepEqual(syntax.stages, [])
    assert.deepEqual(
      syntax.problems.map((p) => `${p.line}:${p.column}`),
      ["4:3", "5:1"]
    )
    assert.match(syntax.problems[0].message, /^YAML: Flow map in block collection must be sufficiently indented/)

    writeFileSync(
      join(dir, "orphan.yaml"),
      "pipeline: y\nextends: missing.yaml\nstages:\n  b: { uses: normalize, in: { volumes: a.volumes } }\n"
    )
    const orphan = readPipelineGraph(join(dir, "orphan.yaml"))
    assert.deepEqual(orphan.stages, [{ id: "b", uses: "normalize", upstream: [] }])
    assert.deepEqual(orphan.problems, [
      { file: join(dir, "orphan.yaml"), line: 2, column: 10, message: "extended file not found: missing.yaml" }
    ])

    writeFileSync(join(dir, "loop-a.yaml"), "extends: loop-b.yaml\n")
    writeFileSync(join(dir, "loop-b.yaml"), "extends: loop-a.yaml\n")
    const loop = readPipelineGraph(join(dir, "loop-a.yaml"))
    assert.deepEqual(loop.problems, [
      { file: join(dir, "loop-b.yaml"), line: 1, column: 1, message: `extends cycle through ${join(dir, "loop-a.yaml")}` }
    ])

    writeFileSync(join(dir, "list.yaml"), "- a\n- b\n")
    assert.deepEqual(readPipelineGraph(join(dir, "list.yaml")).problems[0]?.message, "a pipeline file must be a mapping")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
