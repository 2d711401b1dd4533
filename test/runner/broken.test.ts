import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cli, finished, spawnCli, tempDir } from "./testing.ts"

const BROKEN = join(import.meta.dirname, "broken")
const files = readdirSync(BROKEN)
  .filter((f) => f.endsWith(".yaml"))
  .sort()

/** Each corpus file starts with `# expect: <regex>` (and optionally `# at: line:column`). */
const header = (file: string, tag: string): string | undefined =>
  new RegExp(`^# ${tag}: (.*)$`, "m").exec(readFileSync(join(BROKEN, file), "utf8"))?.[1]

const STACK = /^\s+at .+[:(]\d+/m

test("the corpus holds at least 25 broken pipelines", () => {
  assert.ok(files.length >= 25, `${files.length} files`)
})

for (const name of files) {
  test(`broken/${name}: exit 2, located human message, nothing written`, async () => {
    const dir = tempDir()
    const store = join(dir, "store")
    const r = await cli(["run", join(BROKEN, name), "--store", store], dir)
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stderr, new RegExp(`^${BROKEN.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/[\\w.-]+\\.yaml:\\d+:\\d+: `, "m"))
    assert.match(r.stderr, new RegExp(header(name, "expect")!))
    const at = header(name, "at")
    if (at) assert.ok(r.stderr.includes(`${join(BROKEN, name)}:${at}: `), `expected location ${at} in\n${r.stderr}`)
    assert.doesNotMatch(r.stderr + r.stdout, STACK)
    assert.equal(existsSync(store), false, "nothing may be written to the store")
    assert.equal(existsSync(join(BROKEN, name.replace(".yaml", ".lock.json"))), false)
  })
}

test("a 10 MB pipeline file is refused before parsing", async () => {
  const dir = tempDir()
  const file = join(dir, "huge.yaml")
  writeFileSync(file, "pipeline: huge\nstages:\n" + "  # padding padding padding padding padding padding padding padding\n".repeat(160_000))
  const r = await cli(["run", file, "--store", join(dir, "store")], dir)
  assert.equal(r.code, 2)
  assert.match(r.stderr, new RegExp(`${file}:1:1: pipeline file is 10\\.\\d MB; the limit is 1 MB`))
  assert.equal(existsSync(join(dir, "store")), false)
})

test("the real binary prints no stack trace for a broken pipeline, and plan/dag give exit 2 too", async () => {
  const dir = tempDir()
  const r = await finished(spawnCli(["run", join(BROKEN, "js-function.yaml"), "--store", join(dir, "s")], dir))
  assert.equal(r.code, 2)
  assert.match(r.stderr, /js-function\.yaml:5:\d+: YAML tag '!!js\/function' is not allowed/)
  assert.doesNotMatch(r.stderr, STACK)
  assert.equal((await cli(["plan", join(BROKEN, "cycle.yaml")], dir)).code, 2)
  assert.equal((await cli(["dag", join(BROKEN, "cycle.yaml")], dir)).code, 2)
})

test("usage errors give exit 2 with the command's help", async () => {
  const dir = tempDir()
  const r = await cli(["run"], dir)
  assert.equal(r.code, 2)
  assert.match(r.stderr, /usage error: missing the pipeline file[\s\S]*tomoprior run <pipeline\.yaml>/)
  assert.equal((await cli(["run", "x.yaml", "--frobnicate"], dir)).code, 2)
  assert.equal((await cli(["nope"], dir)).code, 2)
  assert.equal((await cli(["run", "--help"], dir)).code, 0)
  assert.equal((await cli(["run", join(dir, "missing.yaml")], dir)).code, 2)
})
