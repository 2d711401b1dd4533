import { test } from "node:test"
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cli, jsonLines, tempDir, verifyStore, writePipeline } from "./testing.ts"

/** A 1 MiB tmpfs at `dir`, or the reason there is none (mounting needs root, as on CI). */
const mountTinyFilesystem = (dir: string): string | undefined => {
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root"
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { stdio: "pipe" })
    return undefined
  } catch (e) {
    return `mount -t tmpfs failed: ${(e as Error).message.split("\n")[0]}`
  }
}

test("a full disk while the store commits a result is a StoreError naming the file and what to do; the store stays consistent", async (t) => {
  const dir = tempDir()
  const small = join(dir, "small")
  mkdirSync(small)
  const problem = mountTinyFilesystem(small)
  if (problem) return t.skip(problem)
  t.after(() => execFileSync("umount", [small]))
  const store = join(small, "store")
  const filler = join(small, "filler")
  const file = writePipeline(
    dir,
    "full.yaml",
    `pipeline: full\nplugins: ["$FAKE"]\nstages:\n  fill: { uses: fake-fill, with: { filler: "${filler}" } }\n`
  )

  const full = await cli(["run", file, "--store", store, "--json"], dir)
  assert.equal(full.code, 1, full.stdout + full.stderr)
  const failed = jsonLines(full.stdout).find((e) => e.type === "stage-failed")!
  assert.equal(failed.error, "StoreError")
  assert.match(
    failed.message,
    /^cannot store the outputs of `fill`: .*\/manifest\.json: no space left on device\n {2}hint: the filesystem is full/
  )
  assert.match(failed.message, /tomoprior gc/)
  // Nothing looks cached: no run record, no artifact, no temporary output, no lock entry.
  assert.deepEqual(readdirSync(join(store, "runs")), [])
  assert.deepEqual(readdirSync(join(store, "artifacts")), [])
  assert.deepEqual(readdirSync(join(store, "tmp")), [])
  const lock = join(dir, "full.lock.json")
  assert.ok(!existsSync(lock) || JSON.parse(readFileSync(lock, "utf8")).stages.fill === undefined)

  // With room again (the filler emptied; the stage leaves it be), the same run succeeds and the store verifies.
  writeFileSync(filler, "")
  const again = await cli(["run", file, "--store", store], dir)
  assert.equal(again.code, 0, again.stdout + again.stderr)
  assert.equal((await verifyStore(store)).size, 1)
  assert.deepEqual(readdirSync(join(store, "tmp")), [])
})
