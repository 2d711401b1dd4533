import { test } from "node:test"
import assert from "node:assert/strict"
import { mergeSlurm, sbatchResourceArgs } from "./options.ts"
import { parseSacct, parseScontrol, stateFromExitCode } from "./queue.ts"

test("a stage's slurm settings override the pipeline's key by key; extra options add up", () => {
  const pipeline = { partition: "cpu", time: "1:00:00", extra: ["--constraint=avx2"] }
  const stage = { partition: "gpu", gres: "gpu:1", extra: ["--nice=10"] }
  assert.deepEqual(mergeSlurm(pipeline, stage), {
    partition: "gpu",
    time: "1:00:00",
    gres: "gpu:1",
    extra: ["--constraint=avx2", "--nice=10"]
  })
  assert.deepEqual(mergeSlurm(pipeline, {}), pipeline)
})

test("sbatch options: training stages get a whole node unless cpusPerTask says otherwise, the rest one CPU", () => {
  assert.deepEqual(sbatchResourceArgs({ cpu: "all" }, {}), ["--exclusive"])
  assert.deepEqual(sbatchResourceArgs({ cpu: 1 }, {}), ["--cpus-per-task=1"])
  assert.deepEqual(
    sbatchResourceArgs(
      { cpu: "all" },
      { cpusPerTask: 8, partition: "gpu", time: "2:00:00", mem: "16G", gres: "gpu:1", account: "lab", qos: "high", extra: ["--nice=5"] }
    ),
    ["--cpus-per-task=8", "--partition=gpu", "--time=2:00:00", "--mem=16G", "--gres=gpu:1", "--account=lab", "--qos=high", "--nice=5"]
  )
})

test("job states are read from scontrol's one-line records and from sacct", () => {
  // As printed by Slurm 22.05 (Debian 12) for a batch job that exited with 3.
  const line =
    "JobId=1 JobName=j.sh UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) " +
    "JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 " +
    "RunTime=00:00:02 TimeLimit=UNLIMITED TimeMin=N/A"
  assert.deepEqual(parseScontrol(line), { state: "FAILED", exitCode: "3:0", reason: "NonZeroExitCode", timeLimit: "UNLIMITED" })
  assert.equal(parseScontrol("slurm_load_jobs error: Invalid job id specified"), undefined)
  assert.deepEqual(parseSacct("CANCELLED by 0|0:15|00:10:00\n"), { state: "CANCELLED", exitCode: "0:15", timeLimit: "00:10:00" })
  assert.equal(parseSacct(""), undefined)
})

test("a job Slurm no longer remembers ended as its exit-code file says, or UNKNOWN without one", () => {
  assert.deepEqual(stateFromExitCode("0"), { state: "COMPLETED", exitCode: "0:0" })
  assert.deepEqual(stateFromExitCode("137"), { state: "FAILED", exitCode: "137:0" })
  assert.deepEqual(stateFromExitCode(undefined), { state: "UNKNOWN" })
})
