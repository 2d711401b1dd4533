import { test } from "node:test"
import assert from "node:assert/strict"
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { StageDef } from "@tomoprior/core"
import { FileHasher } from "./hash.ts"
import { stageCodeHash } from "./keys.ts"

const pkg = (dir: string, name: string, deps: Record<string, string> = {}) => {
  mkdirSync(join(dir, "src"), { recursive: true })
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, dependencies: deps }))
}

test("the code hash covers the stage package and the workspace packages it depends on, not its tests", async () => {
  const root = mkdtempSync(join(tmpdir(), "tomoprior-code-"))
  const stageDir = join(root, "libs/stages/s")
  const libDir = join(root, "libs/vol")
  pkg(stageDir, "stage-s", { vol: "*" })
  pkg(libDir, "vol")
  mkdirSync(join(root, "node_modules"))
  symlinkSync(libDir, join(root, "node_modules/vol"))
  writeFileSync(join(stageDir, "src/index.ts"), "export const a = 1\n")
  writeFileSync(join(libDir, "src/read.ts"), "export const r = 1\n")
  const stage = { source: pathToFileURL(join(stageDir, "src/index.ts")).href } as StageDef
  const hash = async () => stageCodeHash(stage, await FileHasher.open())

  const h0 = await hash()
  writeFileSync(join(stageDir, "src/index.test.ts"), "test\n")
  assert.equal(await hash(), h0, "test files do not count")
  writeFileSync(join(libDir, "src/read.ts"), "export const r = 2\n")
  const h1 = await hash()
  assert.notEqual(h1, h0, "an edit to a workspace dependency changes the hash")
  writeFileSync(join(stageDir, "src/index.ts"), "export const a = 2\n")
  assert.notEqual(await hash(), h1)
})
