import type { ComputeSettings } from "@tomoprior/core"
import { Effect, Exit, type Layer, Schema } from "effect"
import { appendFileSync } from "node:fs"
import { mkdir, rm } from "node:fs/promises"
import { describeFailure } from "../execute.ts"
import type { EmitEvent } from "../events.ts"
import { Executor } from "../executor.ts"
import { readJsonFile, writeJsonAtomic } from "../json.ts"
import { readLease } from "../lease.ts"
import { storeLayout } from "../store.ts"
import { adoptStoreUmask } from "../store-permissions.ts"
import { jobFiles, JobSpec, type JobResult } from "./job-files.ts"

/** `tomoprior job <dir>` was given a directory without a readable job.json. */
export class JobSpecInvalid extends Schema.TaggedError<JobSpecInvalid>()("JobSpecInvalid", { file: Schema.String }) {
  override get message(): string {
    return `${this.file}: missing or not a job description written by \`tomoprior run --executor slurm\``
  }
}

/** The run that submitted this job no longer holds the store. */
export class JobOrphaned extends Schema.TaggedError<JobOrphaned>()("JobOrphaned", { runId: Schema.String, holder: Schema.String }) {
  override get message(): string {
    return (
      `the run that submitted this job (${this.runId}) no longer holds the store (${this.holder}): ` +
      "stopping, so that two runs never write the same outputs"
    )
  }
}

/** Often enough that an orphaned job stops before a new run's job for the same stage has started. */
const GUARD_MS = 2_000
/** A lease that cannot be read this many times in a row counts as gone (one failed read may be the network). */
const GUARD_MISSES = 3

/**
 * A job's events as JSON lines in its events file, which the submitting process relays; log lines
 * also go to stdout, i.e. into the job's log.
 */
export const jobEventSink =
  (dir: string, stdout: (text: string) => void): EmitEvent =>
  (event) => {
    if (event.type !== "stage-progress" && event.type !== "stage-log") return
    appendFileSync(jobFiles(dir).events, JSON.stringify(event) + "\n")
    if (event.type === "stage-log") stdout(`${event.message}\n`)
  }

/**
 * The node side of the Slurm executor (`tomoprior job <dir>`): runs the one stage invocation in
 * `<dir>/job.json` with the local executor it is given, into the output and work
 * directories the submitting run prepared, and writes how it ended to `<dir>/result.json`. It
 * commits nothing: the submitting process does. It stops by itself when the submitting run no
 * longer holds the store (it died and a later run broke its lease). Succeeds with how the stage ended.
 */
export const runJob = <R>(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  /** The executor that runs the stage here, with a Compute for the invocation's settings. */
  localExecutor: (compute: ComputeSettings) => Layer.Layer<Executor, never, R>
) =>
  Effect.gen(function* () {
    const files = jobFiles(dir)
    const spec = yield* Effect.promise(() => readJsonFile(files.spec, JobSpec))
    if (!spec) return yield* new JobSpecInvalid({ file: files.spec })
    yield* Effect.promise(() => adoptStoreUmask(spec.store))
    const inv = spec.invocation
    // "0 = one per core" means the cores Slurm gave the job, not every core of the node.
    const allocated = Number(env.SLURM_CPUS_PER_TASK ?? env.SLURM_CPUS_ON_NODE)
    const compute = inv.compute.threads === 0 && allocated > 0 ? { ...inv.compute, threads: allocated } : inv.compute
    const run = Effect.promise(() => emptyOutputs(inv)).pipe(
      Effect.andThen(Effect.flatMap(Executor, (executor) => executor.run({ ...inv, compute }))),
      Effect.provide(localExecutor(compute))
    )
    const exit = yield* Effect.exit(Effect.raceFirst(run, guard(spec)))
    // Stopped by a signal (scancel, the time limit): Slurm's record of the job says why, not this file.
    if (Exit.isFailure(exit) && Exit.hasInterrupts(exit)) return yield* Effect.interrupt
    const result: JobResult = Exit.isSuccess(exit)
      ? { ok: true, provenance: { ...exit.value.provenance } }
      : { ok: false, ...describeFailure(exit.cause) }
    yield* Effect.promise(() => writeJsonAtomic(files.result, result))
    return result
  })

/**
 * Slurm starts a requeued job (its node failed, it was preempted, `scontrol requeue`) again from
 * the top: what its killed attempt left in the output directories must not end up in the artifact.
 * The work directory stays, so training resumes from its checkpoint.
 */
const emptyOutputs = async (inv: JobSpec["invocation"]) => {
  for (const dir of Object.values(inv.outputs)) {
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
  }
}

/** Fails once the store's lease names another run, or stays unreadable. */
const guard = (spec: JobSpec) =>
  Effect.gen(function* () {
    let misses = 0
    for (;;) {
      yield* Effect.sleep(GUARD_MS)
      const lease = yield* Effect.promise(() => readLease(storeLayout(spec.store).locks))
      if (lease?.runId === spec.runId) misses = 0
      else if (lease || ++misses >= GUARD_MISSES)
        return yield* new JobOrphaned({
          runId: spec.runId,
          holder: lease ? `run ${lease.runId} on ${lease.host} holds it now` : "it is free"
        })
    }
  })
