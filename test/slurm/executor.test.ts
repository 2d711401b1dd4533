import { test } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cli, jsonLines, spawnCli, tempDir, writePipeline } from "../runner/testing.ts"
import { assertConsistent, jobIds, jobPids, outputHashes, progressed, resumedFrom, slurmCluster, slurmJob, watch } from "./testing.ts"

const skip = slurmCluster()
if (skip) console.log(`# skipping the Slurm executor tests: ${skip}`)

const failures = (stdout: string): Record<string, string> =>
  Object.fromEntries(
    jsonLines(stdout)
      .filter((e) => e.type === "stage-failed")
      .map((e) => [e.stage, e.message])
  )

const CHAIN = `pipeline: slurm-chain
plugins: ["$FAKE"]
executor: { kind: slurm, pollSeconds: 0.5 }
slurm: { time: "10:00" }
stages:
  data:   { uses: fake-source, with: { files: 3, bytes: 500 } }
  norm:   { uses: fake-add, in: { volumes: data.volumes }, with: { add: 3, delayMs: 1500 } }
  side:   { uses: fake-xor, in: { volumes: data.volumes }, with: { delayMs: 1500 } }
  tuples: { uses: fake-tuples, in: { volumes: norm.volumes } }
  train:
    uses: fake-train
    in: { tuples: tuples.tuples }
    with: { delayMs: 1500 }
    matrix: { seed: [1, 2] }
    # Training takes a whole node by default: one CPU each lets both seeds share the test's one node.
    slurm: { cpusPerTask: 1 }
`

test(
  "--executor slurm: one job per stage, the same artifacts as the local executor, independent jobs and a matrix's jobs at the same time, progress relayed",
  { skip },
  async () => {
    const dir = tempDir("tomoprior-slurm-")
    const file = writePipeline(dir, "chain.yaml", CHAIN)
    const store = join(dir, "store")
    const r = await cli(["run", file, "--store", store, "--json"], dir)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const events = jsonLines(r.stdout)
    const runId = events.find((e) => e.type === "run-start")!.runId
    const ids = jobIds(events)
    assert.deepEqual(Object.keys(ids).sort(), ["data", "norm", "side", "train[seed=1]", "train[seed=2]", "tuples"])
    const jobs = Object.fromEntries(Object.entries(ids).map(([stage, id]) => [stage, slurmJob(id)]))
    for (const [stage, job] of Object.entries(jobs)) {
      assert.equal(job.state, "COMPLETED", stage)
      assert.equal(job.name, `tomoprior.${runId}.${stage.replace(/[[\],]/g, "_")}`)
    }
    // Slurm's own record: norm and side (both need only data) ran at the same time.
    assert.ok(jobs.norm.start < jobs.side.end && jobs.side.start < jobs.norm.end, JSON.stringify([jobs.norm, jobs.side]))
    // A matrix is as many jobs, in the queue at once.
    const [seed1, seed2] = [jobs["train[seed=1]"], jobs["train[seed=2]"]]
    assert.ok(seed1.start < seed2.end && seed2.start < seed1.end, JSON.stringify([seed1, seed2]))
    const progress = events.filter((e) => e.type === "stage-progress" && e.stage === "norm").map((e) => e.done)
    assert.ok(new Set(progress).size >= 2, `norm's progress moved: ${progress}`)
    await assertConsistent(store)
    assert.deepEqual(readdirSync(join(store, "jobs")), [], "a successful job leaves no files")

    const local = await cli(["run", file, "--store", join(dir, "local"), "--executor", "local", "--json"], dir)
    assert.equal(local.code, 0, local.stderr)
    assert.equal(Object.keys(jobIds(jsonLines(local.stdout))).length, 0, "--executor local wins over the pipeline's executor")
    assert.deepEqual(outputHashes(r.stdout), outputHashes(local.stdout))

    const again = await cli(["run", file, "--store", store, "--json"], dir)
    assert.equal(again.code, 0)
    assert.equal(jsonLines(again.stdout).find((e) => e.type === "run-done")!.cached, 6)
    assert.deepEqual(jobIds(jsonLines(again.stdout)), {}, "a cached run submits nothing")
  }
)

const FAULTS = `pipeline: slurm-faults
plugins: ["$FAKE"]
executor: { kind: slurm, pollSeconds: 0.5 }
stages:
  victim: { uses: fake-steps, with: { steps: 400, delayMs: 100 } }
  killed: { uses: fake-steps, with: { steps: 401, delayMs: 100 } }
  data:   { uses: fake-source, with: { files: 2, bytes: 100 } }
  bad:    { uses: fake-fail, in: { volumes: data.volumes } }
  after:  { uses: fake-tuples, in: { volumes: bad.volumes } }
  ok:     { uses: fake-add, in: { volumes: data.volumes } }
`

test(
  "a failing stage, a scancelled job, a job killed with kill -9 on its node: failures naming state, job id, log; the rest finishes; a rerun resumes",
  { skip },
  async () => {
    const dir = tempDir("tomoprior-slurm-")
    const file = writePipeline(dir, "faults.yaml", FAULTS)
    const store = join(dir, "store")
    const run = watch(spawnCli(["run", file, "--store", store, "--json"], dir))
    await Promise.all([run.until(progressed("victim", 5)), run.until(progressed("killed", 5))])
    const ids = jobIds(run.events())
    assert.equal(spawnSync("scancel", [ids.victim]).status, 0)
    // The node's view: the job's processes; kill tomoprior itself, as the kernel's OOM killer would.
    const node = jobPids(ids.killed).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("tomoprior.js"))
    assert.equal(node.length, 1, `one tomoprior process in job ${ids.killed}`)
    process.kill(node[0], "SIGKILL")
    const r = await run.closed
    assert.equal(r.code, 1, r.stderr)
    const failed = failures(r.stdout)
    assert.deepEqual(Object.keys(failed).sort(), ["bad", "killed", "victim"])
    const all = jobIds(jsonLines(r.stdout))
    const log = (stage: string) => join(store, "jobs", jsonLines(r.stdout)[0].runId, stage, "job.log")
    assert.match(failed.bad, /^bad: the phantom refused to cooperate/)
    assert.ok(failed.bad.includes(`slurm job ${all.bad} FAILED (exit 1:0); log: ${log("bad")}`), failed.bad)
    assert.match(failed.bad, /last lines of the log:\n +stage failed: bad: the phantom refused to cooperate/)
    assert.match(failed.victim, /^the job was cancelled/)
    assert.ok(failed.victim.includes(`slurm job ${ids.victim} CANCELLED`), failed.victim)
    assert.match(failed.victim, new RegExp(`last lines of the log:\\n.*JOB ${ids.victim} ON \\S+ CANCELLED`))
    assert.match(failed.killed, /^tomoprior was killed by signal 9 \(SIGKILL\) on the node/)
    assert.ok(failed.killed.includes(`slurm job ${ids.killed} FAILED (exit 137:0); log: ${log("killed")}`), failed.killed)
    for (const stage of ["bad", "victim", "killed"]) assert.ok(existsSync(log(stage)), `${stage}'s log is kept`)
    assert.deepEqual(
      jsonLines(r.stdout)
        .filter((e) => e.type === "stage-done")
        .map((e) => e.stage)
        .sort(),
      ["data", "ok"],
      "independent branches finish"
    )
    assert.deepEqual(
      jsonLines(r.stdout)
        .filter((e) => e.type === "stage-skipped")
        .map((e) => e.stage),
      ["after"]
    )
    await assertConsistent(store)

    // Fixed: the rerun resumes the interrupted stages from their checkpoints in the shared work directory.
    writePipeline(
      dir,
      "faults.yaml",
      FAULTS.replace("uses: fake-fail, in: { volumes: data.volumes }", "uses: fake-add, in: { volumes: data.volumes }")
    )
    const again = await cli(["run", file, "--store", store, "--json"], dir)
    assert.equal(again.code, 0, again.stdout + again.stderr)
    assert.ok(resumedFrom(again.stdout, "victim") >= 5, "victim resumed")
    assert.ok(resumedFrom(again.stdout, "killed") >= 5, "killed resumed")
    await assertConsistent(store)
  }
)

test(
  "a job over its time limit is a TIMEOUT naming the limit; with the limit raised (not part of the key) the rerun resumes",
  { skip },
  async () => {
    const dir = tempDir("tomoprior-slurm-")
    const yaml = (time: number) => `pipeline: slurm-timeout
plugins: ["$FAKE"]
executor: { kind: slurm, pollSeconds: 1 }
stages:
  long: { uses: fake-steps, with: { steps: 130, delayMs: 1000 }, slurm: { time: ${time} } }
`
    const file = writePipeline(dir, "timeout.yaml", yaml(1))
    const store = join(dir, "store")
    const r = await cli(["run", file, "--store", store, "--json"], dir)
    assert.equal(r.code, 1, r.stdout + r.stderr)
    const id = jobIds(jsonLines(r.stdout)).long
    const message = failures(r.stdout).long
    assert.match(message, /^the job ran past its time limit \(00:01:00\)/)
    assert.ok(message.includes(`slurm job ${id} TIMEOUT`), message)
    assert.match(message, new RegExp(`JOB ${id} ON \\S+ CANCELLED AT \\S+ DUE TO TIME LIMIT`))
    assert.match(message, /hint: raise the stage's `slurm: \{ time: … \}`/)
    assert.equal(slurmJob(id).state, "TIMEOUT")
    await assertConsistent(store)

    writePipeline(dir, "timeout.yaml", yaml(10))
    const plan = await cli(["plan", file, "--store", store], dir)
    assert.match(plan.stdout, /long +run +no previous run/, "the time limit is no part of the cache key")
    const again = await cli(["run", file, "--store", store, "--json"], dir)
    assert.equal(again.code, 0, again.stdout + again.stderr)
    assert.ok(resumedFrom(again.stdout, "long") >= 30, `resumed from ${resumedFrom(again.stdout, "long")}`)
    await assertConsistent(store)
  }
)

/** One resumable stage on Slurm: `steps` steps of 100 ms, its count checkpointed in its work directory. */
const steppingPipeline = (dir: string, steps: number): string =>
  writePipeline(
    dir,
    "steps.yaml",
    `pipeline: slurm-steps
plugins: ["$FAKE"]
executor: { kind: slurm, pollSeconds: 0.5 }
stages:
  steps: { uses: fake-steps, with: { steps: ${steps}, delayMs: 100 } }
`
  )

test(
  "Ctrl-C and SIGTERM scancel the run's jobs, the store stays consistent; after a kill -9 the job stops once a new run takes the store; reruns resume",
  { skip },
  async () => {
    const dir = tempDir("tomoprior-slurm-")
    const file = steppingPipeline(dir, 200)
    const store = join(dir, "store")
    const checkpoint = () =>
      JSON.parse(readFileSync(join(store, "work", readdirSync(join(store, "work"))[0], "checkpoint.json"), "utf8")).step
    let reached = 0
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const child = spawnCli(["run", file, "--store", store, "--json"], dir)
      const run = watch(child)
      await run.until(progressed("steps", reached + 10))
      const id = jobIds(run.events()).steps
      child.kill(signal)
      const r = await run.closed
      assert.equal(r.code, 130, `${signal}: ${r.stderr}`)
      assert.ok(r.stdout.includes(`cancelled slurm job ${id} (steps)`), r.stdout)
      assert.equal(slurmJob(id).state, "CANCELLED", `${signal}: the job was cancelled`)
      await assertConsistent(store)
      assert.equal(existsSync(join(store, "jobs", jsonLines(r.stdout)[0].runId)), false, "a job cancelled by the run leaves no files")
      reached = checkpoint()
    }

    // The submitting process dies without a word: its job runs on until the next run takes the store.
    const child = spawnCli(["run", file, "--store", store, "--json"], dir)
    const run = watch(child)
    await run.until(progressed("steps", reached + 10))
    const orphan = jobIds(run.events()).steps
    const orphanRun = run.events()[0].runId
    child.kill("SIGKILL")
    await run.closed
    const again = await cli(["run", file, "--store", store, "--json"], dir)
    assert.equal(again.code, 0, again.stderr)
    assert.ok(jsonLines(again.stdout).some((e) => e.type === "notice" && e.message.startsWith(`broke the lease of run ${orphanRun}`)))
    assert.equal(slurmJob(orphan).state, "FAILED", "the orphaned job stopped")
    assert.match(
      readFileSync(join(store, "jobs", orphanRun, "steps", "job.log"), "utf8"),
      new RegExp(
        `the run that submitted this job \\(${orphanRun}\\) no longer holds the store \\(run \\S+ on \\S+ holds it now\\): stopping`
      )
    )
    assert.ok(resumedFrom(again.stdout, "steps") >= reached, `resumed from ${resumedFrom(again.stdout, "steps")}, checkpoint ${reached}`)
    await assertConsistent(store)
  }
)

test(
  "a requeued job (as after a node failure or a preemption) starts again on its own, resumes from its checkpoint and gives the local executor's artifact",
  { skip },
  async () => {
    const dir = tempDir("tomoprior-slurm-")
    const file = steppingPipeline(dir, 60)
    const store = join(dir, "store")
    const run = watch(spawnCli(["run", file, "--store", store, "--json"], dir))
    await run.until(progressed("steps", 10))
    const id = jobIds(run.events()).steps
    // What a killed attempt can leave in its output directory: a file it was about to rename into place.
    const job = JSON.parse(readFileSync(join(store, "jobs", run.events()[0].runId, "steps", "job.json"), "utf8"))
    writeFileSync(join(job.invocation.outputs.encoder, "weights.json.tmp"), "half-written")
    assert.equal(spawnSync("scontrol", ["requeue", id]).status, 0)
    const r = await run.closed
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(slurmJob(id).restarts, 1, "Slurm ran the job a second time")
    assert.ok(resumedFrom(r.stdout, "steps") >= 10, `resumed from ${resumedFrom(r.stdout, "steps")}`)
    const local = await cli(["run", file, "--store", join(dir, "local"), "--executor", "local", "--json"], dir)
    assert.deepEqual(outputHashes(r.stdout), outputHashes(local.stdout), "nothing of the first attempt's outputs was kept")
    await assertConsistent(store)
  }
)

test("sbatch refusing a job (an unknown partition) is a stage failure with sbatch's own message", { skip }, async () => {
  const dir = tempDir("tomoprior-slurm-")
  const file = writePipeline(
    dir,
    "partition.yaml",
    `pipeline: slurm-partition
plugins: ["$FAKE"]
stages:
  data: { uses: fake-source, slurm: { partition: no-such-partition } }
  fine: { uses: fake-source, with: { seed: 2 } }
`
  )
  const r = await cli(["run", file, "--store", join(dir, "store"), "--executor", "slurm", "--json"], dir)
  assert.equal(r.code, 1)
  assert.match(failures(r.stdout).data, /^sbatch refused the job: sbatch: error: invalid partition specified: no-such-partition/)
  assert.match(failures(r.stdout).data, /--partition=no-such-partition/)
  assert.ok(jsonLines(r.stdout).some((e) => e.type === "stage-done" && e.stage === "fine"))
})
