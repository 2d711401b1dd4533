import { test } from "node:test"
import assert from "node:assert/strict"
import { chmodSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { cli, jsonLines, stagesWith, tempDir, verifyStore, writePipeline } from "./testing.ts"

const CHAIN = `pipeline: guarded
plugins: ["$FAKE"]
stages:
  data:   { uses: fake-source, with: { files: 3, bytes: 400 } }
  norm:   { uses: fake-add, in: { volumes: data.volumes }, with: { add: 3 } }
  side:   { uses: fake-xor, in: { volumes: data.volumes } }
  tuples: { uses: fake-tuples, in: { volumes: norm.volumes } }
  train:  { uses: fake-train, in: { tuples: tuples.tuples } }
`

const setUp = async () => {
  const dir = tempDir()
  const file = writePipeline(dir, "guarded.yaml", CHAIN)
  const store = join(dir, "store")
  const r = await cli(["run", file, "--store", store, "--json"], dir)
  assert.equal(r.code, 0, r.stderr)
  const outputs = jsonLines(r.stdout).find((e) => e.type === "run-done")!.outputs as Record<string, Record<string, string>>
  return { dir, file, store, artifact: (stage: string, port = "volumes") => outputs[stage][port] }
}

/** What an editor does to a read-only file its user owns: make it writable, change a byte in place. */
const changeByte = (file: string, at: number) => {
  chmodSync(file, statSync(file).mode | 0o200)
  const bytes = readFileSync(file)
  bytes[at] ^= 0xff
  writeFileSync(file, bytes)
}

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]))

test("committed files are read-only; a changed byte: verify names it, plan marks it, verify --repair + run recomputes its stage only", async () => {
  const { dir, file, store, artifact } = await setUp()
  for (const f of filesUnder(join(store, "artifacts"))) assert.equal(statSync(f).mode & 0o222, 0, `${f} is read-only`)

  const norm = artifact("norm")
  changeByte(join(norm, "part-001.bin"), 17)

  const found = await cli(["verify", "--store", store], dir)
  assert.equal(found.code, 1, found.stdout + found.stderr)
  assert.match(found.stdout, /^checked 5 artifacts \(11 files, /m)
  assert.ok(
    found.stdout.includes(`damaged  artifacts/${basename(norm)}  (norm.volumes)\n  part-001.bin: content changed since it was stored\n`),
    found.stdout
  )
  assert.match(found.stdout, /1 damaged artifact; `tomoprior verify --repair` evicts it/)
  const byLock = await cli(["verify", "--pipeline", file, "--store", store], dir)
  assert.equal(byLock.code, 1)
  assert.match(byLock.stdout, /checked 5 artifacts named by guarded\.lock\.json/)

  const plan = await cli(["plan", file, "--store", store], dir)
  assert.match(
    plan.stdout,
    /^norm +run +cached output `volumes` is damaged \(part-001\.bin: content changed since it was stored\); `tomoprior verify --repair` evicts it/m
  )
  assert.match(plan.stdout, /^side +cached$/m)

  const repaired = await cli(["verify", "--repair", "--store", store], dir)
  assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr)
  assert.match(repaired.stdout, /evicted 1 damaged artifact and 1 run record \(norm\); the next run recomputes that stage/)
  assert.equal((await cli(["verify", "--store", store], dir)).code, 0)

  const r = await cli(["run", file, "--store", store, "--json"], dir)
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(stagesWith(r.stdout, "stage-done"), ["norm"], "only the damaged result's stage reruns")
  assert.deepEqual(
    stagesWith(r.stdout, "stage-cached"),
    ["data", "side", "train", "tuples"],
    "its recomputed output is the same, so the rest stays cached"
  )
  await verifyStore(store)
})

test("a run never serves a damaged cached result: it evicts it and computes it again, saying why", async () => {
  const { dir, file, store, artifact } = await setUp()
  changeByte(join(artifact("side"), "part-000.bin"), 3)
  const r = await cli(["run", file, "--store", store, "--json"], dir)
  assert.equal(r.code, 0, r.stderr)
  const start = jsonLines(r.stdout).find((e) => e.type === "stage-start")!
  assert.equal(start.stage, "side")
  assert.deepEqual(start.reasons, ["cached output `volumes` is damaged (part-000.bin: content changed since it was stored)"])
  assert.deepEqual(stagesWith(r.stdout, "stage-done"), ["side"])
  await verifyStore(store)
})

test("a forced run whose result equals a damaged stored artifact replaces it instead of keeping it", async () => {
  const { dir, file, store, artifact } = await setUp()
  const norm = artifact("norm")
  changeByte(join(norm, "part-002.bin"), 5)
  const r = await cli(["run", file, "--store", store, "--force", "norm", "--json"], dir)
  assert.equal(r.code, 0, r.stderr)
  assert.equal(jsonLines(r.stdout).find((e) => e.type === "run-done")!.outputs.norm.volumes, norm, "the same content hash")
  assert.deepEqual(stagesWith(r.stdout, "stage-done"), ["norm"])
  const verified = await cli(["verify", "--store", store], dir)
  assert.equal(verified.code, 0, verified.stdout)
  await verifyStore(store)
})

test("verify finds what a quick look cannot: a file added, one removed, one truncated, an edited manifest", async () => {
  const { dir, store, artifact } = await setUp()
  // Artifact directories stay writable (gc and --repair delete from them); their files do not.
  const data = artifact("data")
  writeFileSync(join(data, "extra.txt"), "notes")
  chmodSync(join(data, "part-002.bin"), 0o644)
  truncateSync(join(data, "part-002.bin"), 0)
  unlinkSync(join(artifact("norm"), "part-001.bin"))
  const side = artifact("side")
  chmodSync(join(side, "manifest.json"), 0o644)
  const manifest = JSON.parse(readFileSync(join(side, "manifest.json"), "utf8"))
  manifest.files[0].hash = "0".repeat(32)
  writeFileSync(join(side, "manifest.json"), JSON.stringify(manifest))

  const r = await cli(["verify", "--store", store], dir)
  assert.equal(r.code, 1)
  assert.ok(
    r.stdout.includes(
      `damaged  artifacts/${basename(data)}  (data.volumes)\n  part-002.bin: 0 bytes, the manifest says 400\n` +
        "  extra.txt: not in the manifest (added after it was stored)\n"
    ),
    r.stdout
  )
  assert.ok(r.stdout.includes(`damaged  artifacts/${basename(artifact("norm"))}  (norm.volumes)\n  part-001.bin: missing\n`), r.stdout)
  assert.ok(r.stdout.includes(`damaged  artifacts/${basename(side)}  (side.volumes)\n  manifest.json: its file list was edited`), r.stdout)
  assert.match(r.stdout, /^3 damaged artifacts/m)
})
