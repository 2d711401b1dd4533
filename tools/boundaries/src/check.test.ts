import assert from "node:assert/strict"
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { test } from "node:test"
import { checkBoundaries } from "./check.ts"
import { importsOf } from "./imports.ts"
import { layerTable } from "./rules.ts"

const REPO = resolve(import.meta.dirname, "../../..")

/** A workspace in a temporary directory: `files` maps paths to contents, objects are written as JSON. */
const workspace = (files: Record<string, string | object>): string => {
  const root = mkdtempSync(join(tmpdir(), "boundaries-"))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), typeof content === "string" ? content : JSON.stringify(content))
  }
  return root
}
const pkg = (
  name: string,
  layer: string | undefined,
  dependencies: Record<string, string> = {},
  scripts: Record<string, string> = { test: "node test.mjs ." }
) => ({
  name,
  dependencies,
  scripts,
  ...(layer ? { nx: { tags: [`layer:${layer}`] } } : {})
})

test("every import form is seen, with its line and column; computed dynamic imports are not", () => {
  const text = [
    `import a from "x"`,
    `import type { B } from "y/z"`,
    `export * from "./q.ts"`,
    `export type { C } from "w"`,
    `const d = await Effect.promise(() => import("@s/p/sub"))`,
    `let t: import("tq").T`,
    `const r = require("req")`,
    `const plugin = await import(pathToFileURL(entry).href)`,
    `const s = "import('not-code')"`
  ].join("\n")
  assert.deepEqual(
    importsOf("f.ts", text).map((s) => `${s.line}:${s.column} ${s.specifier}${s.typeOnly ? " (type)" : ""}`),
    ["1:15 x", "2:24 y/z (type)", "3:15 ./q.ts", "4:24 w (type)", "5:45 @s/p/sub", "6:15 tq (type)", "7:19 req"]
  )
})

test("each layer rule fails on a planted violation, naming the file, the line and the rule", () => {
  const root = workspace({
    "package.json": { workspaces: ["libs/*", "libs/stages/*", "apps/*"] },
    "libs/core/package.json": pkg("@t/core", "core", { "@t/runner": "*" }),
    "libs/core/src/index.ts": `export const x = 1\nimport { run } from "@t/runner"\n`,
    "libs/runner/package.json": pkg("@t/runner", "runner", { "@t/core": "*", "@t/compute": "*" }),
    "libs/runner/src/index.ts": `import type { Tensor } from "@t/compute"\nexport const run = 1\n`,
    "libs/compute/package.json": pkg("@t/compute", "compute", { "@t/core": "*" }),
    "libs/compute/src/index.ts": `import { x } from "@t/core"\n`,
    "libs/testkit/package.json": pkg("@t/testkit", "testkit", { "@t/core": "*" }),
    "libs/testkit/src/index.ts": `export const helper = 1\n`,
    "libs/stages/a/package.json": pkg("@t/stage-a", "stage", { "@t/core": "*", "@t/runner": "*", "@t/stage-b": "*", "@t/testkit": "*" }),
    "libs/stages/a/src/stage.ts": [
      `import { x } from "@t/core"`,
      `export * from "@t/stage-b"`,
      `const load = () => import("@t/runner")`,
      `import { y } from "../../../core/src/index.ts"`,
      `import { helper } from "@t/testkit"`
    ].join("\n"),
    "libs/stages/a/src/stage.test.ts": `import { helper } from "@t/testkit"\nimport { z } from "yaml"\n`,
    "libs/stages/a/src/testing.ts": `import { helper } from "@t/testkit"\n`,
    "libs/stages/b/package.json": pkg("@t/stage-b", "stage", { "@t/core": "*" }, {}),
    "libs/stages/b/src/index.ts": `import { parse } from "yaml"\nimport { x } from "node:fs"\nimport { y } from "fs"\n`,
    "libs/stages/b/src/index.test.ts": `import { x } from "@t/core"\n`,
    "libs/untagged/package.json": pkg("@t/untagged", undefined),
    "apps/cli/package.json": pkg("@t/cli", "app", { "@t/core": "*", "@t/runner": "*", "@t/stage-a": "*", "@t/testkit": "*" }),
    "apps/cli/src/main.ts": `import "@t/core"\nimport "@t/runner"\nimport "@t/stage-a"\nimport "@t/testkit"\n`
  })
  try {
    const report = checkBoundaries(root)
    assert.deepEqual(report.violations.toSorted(), [
      "libs/core/src/index.ts:2:21: @t/core (layer:core) imports @t/runner (layer:runner): core imports no workspace package",
      "libs/runner/src/index.ts:1:29: @t/runner (layer:runner) imports @t/compute (layer:compute): the runner imports no stage and no compute " +
        "(it gets stages from the StageRegistry the app provides)",
      "libs/stages/a/src/stage.test.ts:2:19: @t/stage-a imports `yaml` but its package.json does not declare it; " +
        "add it to devDependencies (Nx draws the project graph from them)",
      "libs/stages/a/src/stage.ts:2:15: @t/stage-a (layer:stage) imports @t/stage-b (layer:stage): stages never import the runner, another stage or the app",
      "libs/stages/a/src/stage.ts:3:27: @t/stage-a (layer:stage) imports @t/runner (layer:runner): stages never import the runner, another stage or the app",
      "libs/stages/a/src/stage.ts:4:19: relative import `../../../core/src/index.ts` leaves libs/stages/a/; " +
        "import the other package by name (export the module from its package.json if needed)",
      "libs/stages/a/src/stage.ts:5:24: @t/stage-a (layer:stage) imports @t/testkit (layer:testkit) outside test code: " +
        "testkit is imported only by test code (*.test.ts, testing.ts) and the app",
      'libs/stages/b/package.json:1:1: @t/stage-b has tests (libs/stages/b/src/index.test.ts) but no "test" script, ' +
        "so `nx run-many -t test` skips them",
      "libs/stages/b/src/index.ts:1:23: @t/stage-b imports `yaml` but its package.json does not declare it; " +
        "add it to dependencies (Nx draws the project graph from them)",
      "libs/untagged/package.json:1:1: @t/untagged has no layer tag; give it exactly one of layer:core, layer:volume, layer:compute, " +
        'layer:runner, layer:stage, layer:testkit, layer:app, layer:tooling in "nx": { "tags": [...] } (see tools/boundaries/README.md)'
    ])
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test("the repository passes, and fails once a stage imports the runner", () => {
  const clean = checkBoundaries(REPO)
  assert.deepEqual(clean.violations, [])
  assert.deepEqual(clean.stale, [])
  assert.ok(clean.packages >= 20 && clean.files > 200, `${clean.packages} packages, ${clean.files} files`)

  const root = mkdtempSync(join(tmpdir(), "boundaries-repo-"))
  try {
    const skip = new Set(["node_modules", ".git", ".nx", ".tomoprior"])
    cpSync(REPO, root, { recursive: true, filter: (src) => !skip.has(src.split("/").at(-1)!) })
    // The violation a reader would plant: declared in package.json (so Nx would draw the edge), imported dynamically.
    const stagePkg = join(root, "libs/stages/normalize/package.json")
    const manifest = JSON.parse(readFileSync(stagePkg, "utf8"))
    manifest.dependencies["@tomoprior/runner"] = "*"
    writeFileSync(stagePkg, JSON.stringify(manifest))
    appendFileSync(join(root, "libs/stages/normalize/src/index.ts"), `\nexport const planted = () => import("@tomoprior/runner")\n`)
    const planted = checkBoundaries(root)
    assert.equal(planted.violations.length, 1, planted.violations.join("\n"))
    assert.match(
      planted.violations[0],
      new RegExp(
        "^libs/stages/normalize/src/index\\.ts:\\d+:37: " +
          "@tomoprior/stage-normalize \\(layer:stage\\) imports @tomoprior/runner \\(layer:runner\\): stages never import the runner"
      )
    )
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test("README.md states the rules rules.ts enforces", () => {
  const readme = readFileSync(join(import.meta.dirname, "../README.md"), "utf8")
  assert.ok(
    readme.includes(layerTable()),
    "README.md's table is stale: paste the output of `node --import tsx tools/boundaries/src/main.ts --table`"
  )
})
