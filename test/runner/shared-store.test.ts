import { test } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { BIN, finished, jsonLines, stagesWith, tempDir, verifyStore, waitForOutput, writePipeline } from "./testing.ts"

// Two users of one Unix group share a store: only root can act as two users in a test.
const skip = process.getuid?.() === 0 ? undefined : "needs root to run the CLI as two different users"
/** Two system accounts (nobody, daemon) and a group neither belongs to in /etc/group: what counts is the gid they run with. */
const ALICE = { uid: 65534, gid: 4242 }
const BOB = { uid: 1, gid: 4242 }

/** The CLI as `user`, with the umask most systems give users (022: no group write). */
const runAs = (user: { uid: number; gid: number }, args: ReadonlyArray<string>, cwd: string) =>
  spawn("/bin/sh", ["-c", 'umask 022; exec "$0" "$@"', process.execPath, BIN, ...args], {
    cwd,
    uid: user.uid,
    gid: user.gid,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TOMOPRIOR_STORE: "", HOME: cwd }
  })

const everything = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? [p, ...everything(p)] : [p]
  })

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
  { skip },
  async () => {
    const dir = tempDir()
    // Set up as an administrator would: the project directory and the store belong to the group, setgid.
    chmodSync(dir, 0o2775)
    chownSync(dir, 0, ALICE.gid)
    const store = join(dir, "store")
    mkdirSync(store)
    chownSync(store, 0, ALICE.gid)
    chmodSync(store, 0o2770)
    const gate = join(dir, "gate")
    const file = writePipeline(dir, "shared.yaml", CHAIN.replace("$GATE", gate))
    chownSync(file, ALICE.uid, ALICE.gid)

    const alice = runAs(ALICE, ["run", file, "--store", store, "--json"], dir)
    await waitForOutput(alice, '"type":"stage-start","stage":"hold"')
    // Bob starts while Alice's run holds the store: refused, naming her run (her pid is alive, though not his to signal).
    const early = await finished(runAs(BOB, ["run", file, "--store", store], dir))
    assert.equal(early.code, 1, early.stderr)
    assert.match(early.stderr, /the store is in use by run \S+ \(pid \d+ on /)
    writeFileSync(gate, "")
    const first = await finished(alice)
    assert.equal(first.code, 0, first.stderr)

    for (const p of everything(store)) {
      const s = lstatSync(p)
      assert.equal(s.gid, ALICE.gid, `${p} belongs to the store's group`)
      if (s.isDirectory()) {
        assert.equal(s.mode & 0o2070, 0o2070, `${p}: setgid and group rwx (mode ${(s.mode & 0o7777).toString(8)})`)
      } else {
        assert.equal(s.mode & 0o040, 0o040, `${p} is readable by the group`)
        if (p.includes("/artifacts/")) assert.equal(s.mode & 0o222, 0, `${p} is read-only`)
        else assert.equal(s.mode & 0o020, 0o020, `${p} is writable by the group`)
      }
    }

    const forced = await finished(runAs(BOB, ["run", file, "--store", store, "--force", "norm", "--json"], dir))
    assert.equal(forced.code, 0, forced.stderr)
    assert.deepEqual(stagesWith(forced.stdout, "stage-done"), ["norm"])

    writePipeline(dir, "shared.yaml", CHAIN.replace("$GATE", gate).replace("add: 3", "add: 4"))
    const changed = await finished(runAs(BOB, ["run", file, "--store", store, "--json"], dir))
    assert.equal(changed.code, 0, changed.stderr)
    const gc = await finished(runAs(BOB, ["gc", "--store", store], dir))
    assert.equal(gc.code, 0, gc.stderr)
    assert.match(gc.stdout, /^deleted {2}artifacts\//m, "Bob deletes results of Alice's run")
    const verify = await finished(runAs(ALICE, ["verify", "--store", store], dir))
    assert.equal(verify.code, 0, verify.stdout + verify.stderr)
    const records = await verifyStore(store)
    assert.deepEqual([...records.keys()].sort(), ["data", "hold", "norm", "train", "tuples"])
    assert.ok(jsonLines(changed.stdout).some((e) => e.type === "run-done" && e.ok))
  }
)
