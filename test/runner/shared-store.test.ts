import { test } from "node:test"
import assert from "node:assert/strict"
import { chownSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import {
  ALICE,
  assertGroupShared,
  BOB,
  finished,
  groupSharedStore,
  jsonLines,
  skipUnlessRoot,
  spawnCliAs,
  stagesWith,
  verifyStore,
  waitForOutput,
  writePipeline
} from "./testing.ts"

const CHAIN = `pipeline: shared
plugins: ["$FAKE"]
stages:
  data:   { uses: fake-source, with: { files: 3, bytes: 400 } }
  norm:   { uses: fake-add, in: { volumes: data.volumes }, with: { add: 3 } }
  tuples: { uses: fake-tuples, in: { volumes: norm.volumes } }
  train:  { uses: fake-train, in: { tuples: tuples.tuples } }
  hold:   { uses: fake-gate, with: { open: "$GATE" } }
`

test(
  "a group-shared store: what one user's run creates stays the group's; another user reruns, forces and gc's in it; their runs exclude each other",
  { skip: skipUnlessRoot },
  async () => {
    const { dir, store } = groupSharedStore()
    const gate = join(dir, "gate")
    const file = writePipeline(dir, "shared.yaml", CHAIN.replace("$GATE", gate))
    chownSync(file, ALICE.uid, ALICE.gid)

    const alice = spawnCliAs(ALICE, ["run", file, "--store", store, "--json"], dir)
    await waitForOutput(alice, '"type":"stage-start","stage":"hold"')
    // Bob starts while Alice's run holds the store: refused, naming her run (her pid is alive, though not his to signal).
    const early = await finished(spawnCliAs(BOB, ["run", file, "--store", store], dir))
    assert.equal(early.code, 1, early.stderr)
    assert.match(early.stderr, /the store is in use by run \S+ \(pid \d+ on /)
    writeFileSync(gate, "")
    const first = await finished(alice)
    assert.equal(first.code, 0, first.stderr)

    assertGroupShared(store, ALICE.gid)

    const forced = await finished(spawnCliAs(BOB, ["run", file, "--store", store, "--force", "norm", "--json"], dir))
    assert.equal(forced.code, 0, forced.stderr)
    assert.deepEqual(stagesWith(forced.stdout, "stage-done"), ["norm"])

    writePipeline(dir, "shared.yaml", CHAIN.replace("$GATE", gate).replace("add: 3", "add: 4"))
    const changed = await finished(spawnCliAs(BOB, ["run", file, "--store", store, "--json"], dir))
    assert.equal(changed.code, 0, changed.stderr)
    const gc = await finished(spawnCliAs(BOB, ["gc", "--store", store], dir))
    assert.equal(gc.code, 0, gc.stderr)
    assert.match(gc.stdout, /^deleted {2}artifacts\//m, "Bob deletes results of Alice's run")
    const verify = await finished(spawnCliAs(ALICE, ["verify", "--store", store], dir))
    assert.equal(verify.code, 0, verify.stdout + verify.stderr)
    const records = await verifyStore(store)
    assert.deepEqual([...records.keys()].sort(), ["data", "hold", "norm", "train", "tuples"])
    assert.ok(jsonLines(changed.stdout).some((e) => e.type === "run-done" && e.ok))
  }
)
