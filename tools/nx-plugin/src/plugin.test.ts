import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join, resolve } from "node:path"
import { test } from "node:test"
import { promisify } from "node:util"
import { builtinStages } from "@tomoprior/catalog"
import { createNodes, type PipelineMetadata } from "./plugin.ts"
import { readPipelineGraph } from "./pipeline.ts"

const REPO = resolve(import.meta.dirname, "../../..")
const PIPELINES = readdirSync(join(REPO, "pipelines"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => `pipelines/${f}`)
const stagePackage = (type: string) => JSON.parse(readFileSync(join(REPO, "libs/stages", type, "package.json"), "utf8")).name as string
/** Pipeline project name → the stage types it uses, from the pipeline files themselves. */
const usesOf = new Map(PIPELINES.map((f) => [basename(f, ".yaml"), new Set(readPipelineGraph(join(REPO, f)).stages.map((s) => s.uses!))]))

const nodes = async () => {
  const [, build] = createNodes
  const results = await build(PIPELINES, {}, { workspaceRoot: REPO, nxJsonConfiguration: {} })
  return new Map(results.map(([file, result]) => [file, result.projects![file]]))
}

test("each built-in stage type X is the package in libs/stages/X, the convention the plug-in maps `uses:` by", () => {
  for (const { name, stages } of builtinStages.packages)
    for (const stage of stages) assert.equal(stagePackage(stage.name), name, stage.name)
  assert.deepEqual(builtinStages.packages.flatMap((p) => p.stages.map((s) => s.name)).sort(), readdirSync(join(REPO, "libs/stages")).sort())
})

test("a pipeline becomes a project with one uncached target per stage, ordered by its inputs", async () => {
  const demo = (await nodes()).get("pipelines/demo.yaml")!
  assert.equal(demo.name, "demo")
  assert.equal(demo.root, "pipelines/demo.yaml")
  const targets = demo.targets!
  const stageIds = readPipelineGraph(join(REPO, "pipelines/demo.yaml")).stages.map((s) => s.id)
  assert.deepEqual(Object.keys(targets), [...stageIds, "plan"])
  assert.deepEqual(targets.evaluate.dependsOn, ["ft-none", "ft-simclr", "ft-sorting", "norm"])
  assert.deepEqual(targets.data.dependsOn, [])
  for (const id of stageIds) {
    assert.equal(targets[id].cache, false, id)
    assert.equal(targets[id].command, `node apps/cli/bin/tomoprior.js run pipelines/demo.yaml --only ${id}`)
  }
  assert.deepEqual(targets.norm.inputs, [
    "{workspaceRoot}/pipelines/demo.yaml",
    { input: "production", projects: ["@tomoprior/stage-normalize"] },
    { input: "production", projects: ["@tomoprior/stage-normalize"], dependencies: true },
    { env: "TOMOPRIOR_BACKEND" },
    { env: "TOMOPRIOR_STORE" }
  ])
  assert.equal(targets.plan.command, "node apps/cli/bin/tomoprior.js plan pipelines/demo.yaml")
  assert.deepEqual((demo.metadata!.tomoprior as PipelineMetadata).problems, [])
})

test("a pipeline's targets read the files it extends; a dropped stage is gone, a replacing one reads its package", async () => {
  const all = await nodes()
  const covid = all.get("pipelines/covid-lungs.yaml")!
  assert.deepEqual(covid.targets!.norm.inputs!.slice(0, 2), [
    "{workspaceRoot}/pipelines/covid-lungs.yaml",
    "{workspaceRoot}/pipelines/demo.yaml"
  ])
  assert.deepEqual((covid.metadata!.tomoprior as PipelineMetadata).extends, ["pipelines/demo.yaml"])
  const simclr = all.get("pipelines/pretrain-demo-simclr.yaml")!
  assert.deepEqual(Object.keys(simclr.targets!), ["data", "norm", "tuples", "simclr", "plan"])
  assert.deepEqual(simclr.targets!.simclr.inputs![2], { input: "production", projects: ["@tomoprior/stage-pretrain-simclr"] })
  assert.deepEqual((simclr.metadata!.tomoprior as PipelineMetadata).packages, [
    "@tomoprior/stage-ingest",
    "@tomoprior/stage-normalize",
    "@tomoprior/stage-pretrain-simclr",
    "@tomoprior/stage-tuple-sample"
  ])
})

/** Runs Nx in the repository with its own workspace-data directory, so it never waits on an Nx that runs this test. */
const nx = async (dataDir: string, ...args: Array<string>): Promise<string> => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NX_")))
  const { stdout } = await promisify(execFile)(join(REPO, "node_modules/.bin/nx"), args, {
    cwd: REPO,
    env: { ...env, NX_DAEMON: "false", NX_NO_CLOUD: "true", NX_TUI: "false", NX_WORKSPACE_DATA_DIRECTORY: dataDir },
    maxBuffer: 64 << 20
  })
  return stdout
}

test("nx: the graph shows catalog → every stage and pipeline → its stages; a stage change affects just its users", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nx-plugin-"))
  try {
    await nx(join(dir, "data"), "graph", `--file=${join(dir, "graph.json")}`)
    const graph = JSON.parse(readFileSync(join(dir, "graph.json"), "utf8")).graph as {
      nodes: Record<string, unknown>
      dependencies: Record<string, Array<{ target: string }>>
    }
    const targetsOf = (project: string) => new Set(graph.dependencies[project].map((d) => d.target))
    const stageTypes = readdirSync(join(REPO, "libs/stages"))
    for (const type of stageTypes) assert.ok(targetsOf("@tomoprior/catalog").has(stagePackage(type)), `catalog → ${type}`)
    for (const [pipeline, uses] of usesOf) {
      const stageEdges = [...targetsOf(pipeline)].filter((t) => t.startsWith("@tomoprior/stage-"))
      assert.deepEqual(stageEdges.sort(), [...uses].map(stagePackage).sort(), pipeline)
    }
    assert.ok(targetsOf("covid-lungs").has("demo"), "covid-lungs extends demo")

    const affected = async (file: string) =>
      JSON.parse(await nx(join(dir, "data"), "show", "projects", "--affected", `--files=${file}`, "--json")) as Array<string>
    const pipelinesUsing = (type: string) => [...usesOf].filter(([, uses]) => uses.has(type)).map(([p]) => p)
    const normalize = await affected("libs/stages/normalize/src/stage.ts")
    for (const p of ["@tomoprior/stage-normalize", "@tomoprior/catalog", "@tomoprior/cli", ...pipelinesUsing("normalize")])
      assert.ok(normalize.includes(p), p)
    assert.ok(!normalize.includes("@tomoprior/stage-localize"))
    // a pipeline that extends another depends on it (the edge drawn above), so Nx counts it affected too
    const dependingOn = (pipelines: ReadonlyArray<string>): Array<string> => {
      const found = new Set(pipelines)
      for (let grew = true; grew;) {
        grew = false
        for (const p of usesOf.keys())
          if (!found.has(p) && [...targetsOf(p)].some((t) => found.has(t))) {
            found.add(p)
            grew = true
          }
      }
      return [...found]
    }
    const localize = await affected("libs/stages/localize/src/stage.ts")
    const localizeUsers = dependingOn(pipelinesUsing("localize"))
    assert.deepEqual(localize.filter((p) => usesOf.has(p)).sort(), localizeUsers.sort())
    assert.ok(localizeUsers.length < usesOf.size, "some pipeline does without localize")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
