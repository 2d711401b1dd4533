import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cli, finished, jsonLines, sleep, spawnCli, tempDir, verifyStore, waitForOutput, writePipeline } from "./testing.ts"

const SLOW = `pipeline: slow
plugins: ["$FAKE"]
stages:
  data:  { uses: fake-source, with: { files: 6, bytes: 200000, delayMs: 40 } }
  a:     { uses: fake-add, in: { volumes: data.volumes }, with: { delayMs: 40 } }
  b:     { uses: fake-xor, in: { volumes: data.volumes }, with: { delayMs: 40 } }
  t:     { uses: fake-tuples, in: { volumes: a.volumes }, with: { delayMs: 100 } }
  train: { uses: fake-train, in: { tuples: t.tuples, volumes: b.volumes }, with: { delayMs: TRAIN_MS } }
`

/** A small deterministic generator, so a failing kill schedule can be replayed. */
const lcg = (seed: number) => () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32

test("kill -9 at 20 random moments never leaves an entry that looks valid but is incomplete; the final run matches an uninterrupted one", async () => {
  const dir = tempDir()
  const file = writePipeline(dir, "slow.yaml", SLOW.replace("TRAIN_MS", "150"))
  // Reference and final runs go in-process (only the killed runs need their own process).
  const reference = await cli(["run", file, "--store", join(dir, "reference")], dir)
  assert.equal(reference.code, 0, reference.stderr)
  const expected = await verifyStore(join(dir, "reference"))
  assert.equal(expected.size, 5)

  const random = lcg(20261126)
  const stores = [join(dir, "store-0")]
  let kills = 0
  let brokenLeases = 0
  for (let attempt = 0; kills < 20 && attempt < 60; attempt++) {
    const store = stores.at(-1)!
    const child = spawnCli(["run", file, "--store", store, "--json"], dir)
    const result = finished(child)
    // Kill during the run itself (the lease is held from before run-start), not during Node's start-up.
    await waitForOutput(child, `"type":"run-start"`).catch(() => undefined)
    await sleep(random() * 900)
    if (child.exitCode === null) {
      child.kill("SIGKILL")
      kills += 1
    }
    const r = await result
    if (r.stdout.includes('"message":"broke the lease of run')) brokenLeases += 1
    if (r.code === 0)
      stores.push(join(dir, `store-${stores.length}`)) // it finished before the kill: start over elsewhere
    else if (existsSync(join(store, "runs"))) await verifyStore(store) // throws if a record points at an incomplete artifact
  }
  assert.equal(kills, 20)
  assert.ok(brokenLeases > 0, "a killed run's lease is broken by the next run")
  for (const store of stores) {
    const final = await cli(["run", file, "--store", store], dir)
    assert.equal(final.code, 0, final.stdout + final.stderr)
    const outputs = await verifyStore(store)
    assert.deepEqual(Object.fromEntries(outputs), Object.fromEntries(expected))
    assert.deepEqual(readdirSync(join(store, "tmp")), [])
  }
})

test("SIGINT interrupts cleanly: exit 130, no temp outputs, lease released, and the next run resumes", async () => {
  const dir = tempDir()
  const store = join(dir, "store")
  const file = writePipeline(dir, "slow.yaml", SLOW.replace("TRAIN_MS", "60000"))
  const child = spawnCli(["run", file, "--store", store, "--json"], dir)
  const result = finished(child)
  await waitForOutput(child, `"type":"stage-start","stage":"train"`)
  child.kill("SIGINT")
  const r = await result
  assert.equal(r.code, 130)
  assert.match(r.stderr, /interrupted: temporary outputs removed/)
  assert.deepEqual(readdirSync(join(store, "tmp")), [])
  assert.equal(existsSync(join(store, "locks", "run.lease")), false)
  const done = await verifyStore(store)
  assert.deepEqual([...done.keys()].sort(), ["a", "b", "data", "t"])

  writePipeline(dir, "slow.yaml", SLOW.replace("TRAIN_MS", "10"))
  const next = await finished(spawnCli(["run", file, "--store", store, "--json"], dir))
  assert.equal(next.code, 0, next.stderr)
  const events = jsonLines(next.stdout)
  assert.deepEqual(
    events
      .filter((e) => e.type === "stage-cached")
      .map((e) => e.stage)
      .sort(),
    ["a", "b", "data", "t"]
  )
  assert.deepEqual(
    events.filter((e) => e.type === "stage-done").map((e) => e.stage),
    ["train"]
  )
})

test("two concurrent runs on one store: the second fails naming the first, or waits for it with --wait", async () => {
  const dir = tempDir()
  const store = join(dir, "store")
  const gate = join(dir, "gate-open")
  const file = writePipeline(
    dir,
    "held.yaml",
    `pipeline: held\nplugins: ["$FAKE"]\nstages:\n  data: { uses: fake-source }\n  hold: { uses: fake-gate, with: { open: ${JSON.stringify(gate)} } }\n`
  )
  const first = spawnCli(["run", file, "--store", store, "--json"], dir)
  const firstDone = finished(first)
  await waitForOutput(first, `"type":"stage-start","stage":"hold"`)
  const second = await finished(spawnCli(["run", file, "--store", store], dir))
  assert.equal(second.code, 1, second.stdout + second.stderr)
  assert.match(second.stderr, new RegExp(`the store is in use by run \\S+ \\(pid ${first.pid} on \\S+, since \\S+\\)`))
  const waiter = spawnCli(["run", file, "--store", store, "--wait", "120"], dir)
  const waiterDone = finished(waiter)
  await waitForOutput(waiter, "note: waiting up to 120 s for run")
  writeFileSync(gate, "")
  const a = await firstDone
  assert.equal(a.code, 0, a.stderr)
  const runId = jsonLines(a.stdout).find((e) => e.type === "run-start")!.runId
  assert.ok(second.stderr.includes(runId))
  const w = await waiterDone
  assert.equal(w.code, 0, w.stderr)
  assert.match(w.stdout, new RegExp(`note: waiting up to 120 s for run ${runId} \\(pid ${first.pid}`))
  assert.match(w.stdout, /done in .*0 ran, 2 cached/)
  await verifyStore(store)
})
