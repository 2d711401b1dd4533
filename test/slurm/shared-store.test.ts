import { test } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { chownSync, existsSync, readdirSync } from "node:fs"
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
  writePipeline
} from "../runner/testing.ts"
import { assertConsistent, jobIds, progressed, resumedFrom, slurmCluster, slurmJob, watch } from "./testing.ts"

const skip = slurmCluster() ?? skipUnlessRoot

const PIPELINE = `pipeline: slurm-shared
plugins: ["$FAKE"]
executor: { kind: slurm, pollSeconds: 0.5 }
stages:
  data:  { uses: fake-source, with: { files: 2, bytes: 300 } }
  norm:  { uses: fake-add, in: { volumes: data.volumes } }
  steps: { uses: fake-steps, with: { steps: 150, delayMs: 100 } }
`

/** Slurm's record of who a job ran as, e.g. "nobody(65534)". */
const jobUser = (id: string): string =>
  /(?:^|\s)UserId=(\S+)/.exec(spawnSync("scontrol", ["-o", "show", "job", id], { encoding: "utf8" }).stdout)?.[1] ?? ""

test(
  "a group-shared store under Slurm: files the jobs create on the node stay the group's; another user's run resumes from them and gc's them",
  { skip },
  async () => {
    const { dir, store } = groupSharedStore("tomoprior-slurm-")
    const file = writePipeline(dir, "shared.yaml", PIPELINE)
    chownSync(file, ALICE.uid, ALICE.gid)

    // Alice's run; her training job is cancelled midway (by an administrator), leaving its log and checkpoint.
    const alice = watch(spawnCliAs(ALICE, ["run", file, "--store", store, "--json"], dir))
    await alice.until(progressed("steps", 10))
    const aliceJob = jobIds(alice.events()).steps
    assert.equal(spawnSync("scancel", [aliceJob]).status, 0)
    const first = await alice.closed
    assert.equal(first.code, 1, first.stdout + first.stderr)
    assert.match(jobUser(aliceJob), /^nobody\(65534\)$/, "the job ran as Alice")
    assert.equal(slurmJob(aliceJob).state, "CANCELLED")
    const runId = jsonLines(first.stdout)[0].runId
    const jobDir = join(store, "jobs", runId, "steps")
    const work = join(store, "work", readdirSync(join(store, "work"))[0])
    // Written on the node by the job (as Alice, with her umask 022): the log, the relayed events, the checkpoint.
    const checked = assertGroupShared(store, ALICE.gid)
    for (const p of [join(jobDir, "job.log"), join(jobDir, "events.jsonl"), join(work, "checkpoint.json")])
      assert.ok(checked.includes(p), `${p} exists and was checked`)

    // Bob's run: his job resumes from the checkpoint Alice's job wrote, replacing it as it goes.
    const second = await finished(spawnCliAs(BOB, ["run", file, "--store", store, "--json"], dir))
    assert.equal(second.code, 0, second.stdout + second.stderr)
    assert.deepEqual(stagesWith(second.stdout, "stage-done"), ["steps"])
    assert.match(jobUser(jobIds(jsonLines(second.stdout)).steps), /^daemon\(1\)$/, "the job ran as Bob")
    assert.ok(resumedFrom(second.stdout, "steps") >= 10, `resumed from ${resumedFrom(second.stdout, "steps")}`)
    assertGroupShared(store, ALICE.gid)
    await assertConsistent(store)

    // Bob's gc removes what is left of Alice's cancelled job.
    const gc = await finished(spawnCliAs(BOB, ["gc", "--store", store], dir))
    assert.equal(gc.code, 0, gc.stderr)
    assert.ok(gc.stdout.includes(`jobs/${runId}`), gc.stdout)
    assert.equal(existsSync(join(store, "jobs", runId)), false)
    const verify = await finished(spawnCliAs(ALICE, ["verify", "--store", store], dir))
    assert.equal(verify.code, 0, verify.stdout + verify.stderr)
  }
)
