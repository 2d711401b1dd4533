import { Effect, Exit, Layer, Schema } from "effect"
import { mkdir, open, readFile, rm, rmdir, stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { EventSink, type RunEvent } from "../events.ts"
import { Executor, ExecutorFailure, type StageInvocation, type StageResult } from "../executor.ts"
import { readJsonFile } from "../json.ts"
import { Store } from "../store.ts"
import { batchScript, type JobFiles, jobFiles, JobResult, type JobSpec, safeName } from "./job-files.ts"
import { type ExecutorSettings, sbatchResourceArgs } from "./options.ts"
import { isActive, type JobState, SlurmQueue, stateFromExitCode } from "./queue.ts"

export interface SlurmExecutorOptions {
  readonly runId: string
  /** How a node starts tomoprior, e.g. [process.execPath, "<repo>/apps/cli/bin/tomoprior.js"]: the same paths on the shared filesystem. */
  readonly command: ReadonlyArray<string>
  /** The pipeline's `executor:` block (maxJobs, pollSeconds, setup). */
  readonly settings?: ExecutorSettings
}

const DEFAULT_MAX_JOBS = 100
const DEFAULT_POLL_SECONDS = 2
/** After `scancel`, how long to wait for the job to stop (Slurm's KillWait is 30 s by default). */
const CANCEL_WAIT_MS = 45_000
/** How long a finished job's result file may take to show up on this host (NFS attribute caching). */
const RESULT_GRACE_MS = 10_000
const LOG_TAIL_LINES = 15

/**
 * The Slurm executor: each stage invocation becomes one `sbatch` job running `tomoprior job <dir>`
 * on a node, against the same store on a shared filesystem. The job only fills the output and work
 * directories it is given; this process tracks it, relays its progress and log lines, `scancel`s it
 * when interrupted, and the runner alone commits outputs into the store.
 */
export const slurmExecutor = (options: SlurmExecutorOptions) =>
  Layer.effect(
    Executor,
    Effect.gen(function* () {
      const unavailable = yield* Effect.promise(() => SlurmQueue.check())
      if (unavailable) return yield* unavailable
      const store = yield* Store
      const sink = yield* EventSink
      const pollMs = (options.settings?.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000
      let lastWarning = 0
      const queue = new SlurmQueue(pollMs, (message) => {
        if (Date.now() - lastWarning < 60_000) return
        lastWarning = Date.now()
        Effect.runFork(sink.emit({ type: "notice", message }))
      })
      const jobsDir = join(store.layout.jobs, options.runId)
      // The run's job directory stays only if a failed job's files are in it.
      yield* Effect.addFinalizer(() => Effect.promise(() => rmdir(jobsDir).catch(() => undefined)))
      const context: JobContext = { ...options, queue, pollMs, sink, jobsDir, store: store.layout.root }
      return Executor.of({
        run: (invocation) => runJob(context, invocation),
        concurrency: options.settings?.maxJobs ?? DEFAULT_MAX_JOBS
      })
    })
  )

interface JobContext extends SlurmExecutorOptions {
  readonly queue: SlurmQueue
  readonly pollMs: number
  readonly sink: EventSink["Service"]
  readonly jobsDir: string
  readonly store: string
}

const failure = (
  inv: StageInvocation,
  where: string,
  reason: string,
  { log, logTail = [], hint }: { log?: string; logTail?: Array<string>; hint?: string | undefined } = {}
) => new ExecutorFailure({ stage: inv.stageId, where, reason, logTail, ...(log ? { log } : {}), ...(hint ? { hint } : {}) })

const runJob = (ctx: JobContext, inv: StageInvocation): Effect.Effect<StageResult, ExecutorFailure> =>
  Effect.gen(function* () {
    const files = jobFiles(join(ctx.jobsDir, safeName(inv.stageId)))
    const jobName = `tomoprior.${ctx.runId}.${safeName(inv.stageId)}`
    const prepared = yield* Effect.promise(() =>
      prepare(ctx, inv, files, jobName).then(
        () => undefined,
        (e: Error) => e.message
      )
    )
    if (prepared) return yield* failure(inv, "preparing its Slurm job", `cannot write the job's files in ${files.dir}: ${prepared}`)
    const args = [
      `--job-name=${jobName}`,
      `--output=${files.log}`,
      `--chdir=${files.dir}`,
      ...sbatchResourceArgs({ cpu: inv.resources.cpu }, inv.resources.slurm)
    ]
    const ended = yield* Effect.acquireUseRelease(
      Effect.promise(() => ctx.queue.submit(args, files.script)),
      (submitted) =>
        "error" in submitted
          ? Effect.fail(
              failure(inv, `sbatch ${args.join(" ")}`, `sbatch refused the job: ${submitted.error}`, {
                hint: "check the stage's `slurm:` settings (partition, account, qos, time, mem) against `sinfo` and your site's limits"
              })
            )
          : Effect.gen(function* () {
              yield* ctx.sink.emit({ type: "stage-log", stage: inv.stageId, message: `slurm job ${submitted.jobId}; log: ${files.log}` })
              return { jobId: submitted.jobId, ...(yield* track(ctx, inv, files, submitted.jobId)) }
            }),
      (submitted, exit) =>
        Effect.gen(function* () {
          if ("error" in submitted) return
          ctx.queue.done(submitted.jobId)
          if (!Exit.hasInterrupts(exit)) return
          // Interrupted (Ctrl-C, SIGTERM): the job must stop before the runner removes its output directories.
          yield* Effect.promise(async () => {
            await ctx.queue.cancel(submitted.jobId)
            await stopped(ctx.queue, submitted.jobId)
            // Its log says only that it was cancelled, which the run reports itself.
            await rm(files.dir, { recursive: true, force: true }).catch(() => undefined)
          })
          yield* ctx.sink.emit({ type: "notice", message: `cancelled slurm job ${submitted.jobId} (${inv.stageId})` })
        })
    )
    const result = yield* Effect.promise(() => readResult(files, ended.state))
    if (ended.state.state === "COMPLETED" && result?.ok) {
      yield* Effect.promise(() => rm(files.dir, { recursive: true, force: true }).catch(() => undefined))
      return { provenance: result.provenance }
    }
    const logTail = yield* Effect.promise(() => tail(files.log, LOG_TAIL_LINES))
    const code = ended.state.exitCode ?? (yield* Effect.promise(() => readExitCode(files)))
    const [reason, hint] = explain(ended.state, result, code)
    const where = `slurm job ${ended.jobId} ${ended.state.state}${code ? ` (exit ${code})` : ""}`
    return yield* failure(inv, where, reason, { log: files.log, logTail, hint })
  })

/** Writes job.json and job.sh into a fresh job directory. */
const prepare = async (ctx: JobContext, inv: StageInvocation, files: JobFiles, jobName: string) => {
  await rm(files.dir, { recursive: true, force: true })
  await mkdir(files.dir, { recursive: true })
  const spec: JobSpec = { runId: ctx.runId, store: ctx.store, invocation: inv }
  await writeFile(files.spec, JSON.stringify(spec))
  await writeFile(
    files.script,
    batchScript(files, ctx.command, ctx.settings?.setup ?? [], `${jobName}: stage ${inv.stageId} of ${inv.pipeline}`),
    // The umask decides who else may write it: the group too in a group-shared store (see adoptStoreUmask).
    { mode: 0o777 }
  )
}

/** Polls until the job has ended, relaying its events; returns how it ended. */
const track = (ctx: JobContext, inv: StageInvocation, files: JobFiles, jobId: string) =>
  Effect.gen(function* () {
    const relay = eventRelay(files.events, inv.stageId)
    for (;;) {
      yield* Effect.sleep(ctx.pollMs)
      yield* relayEvents(ctx, relay)
      const listed = yield* Effect.promise(() => ctx.queue.listed(jobId))
      // Unanswered (the queue's warning says so): the job may well be running; only an answer ends the wait.
      if (listed === undefined || (listed.state !== undefined && isActive(listed.state))) continue
      const known = yield* Effect.promise(() => ctx.queue.final(jobId))
      if (known && isActive(known.state)) continue
      yield* relayEvents(ctx, relay)
      return { state: known ?? stateFromExitCode(yield* Effect.promise(() => readExitCode(files))) }
    }
  })

const relayEvents = (ctx: JobContext, relay: () => Promise<Array<RunEvent>>) =>
  Effect.gen(function* () {
    const events = yield* Effect.promise(relay)
    // Every log line, but only the newest progress of each poll: the bars need no more.
    const lastProgress = events.findLastIndex((e) => e.type === "stage-progress")
    for (const [i, e] of events.entries()) if (e.type === "stage-log" || i === lastProgress) yield* ctx.sink.emit(e)
  })

/** Reads the lines the job appended to its events file since the last call. */
const eventRelay = (file: string, stage: string) => {
  let offset = 0
  let partial = ""
  return async (): Promise<Array<RunEvent>> => {
    const size = (await stat(file).catch(() => undefined))?.size ?? 0
    if (size <= offset) return []
    const fh = await open(file, "r")
    try {
      const buffer = Buffer.alloc(size - offset)
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, offset)
      offset += bytesRead
      const lines = (partial + buffer.subarray(0, bytesRead).toString("utf8")).split("\n")
      partial = lines.pop() ?? ""
      return lines.flatMap((line) => {
        const event = Schema.decodeUnknownOption(RelayedEvent)(parseJson(line))
        return event._tag === "Some" ? [{ ...event.value, stage } as RunEvent] : []
      })
    } finally {
      await fh.close()
    }
  }
}

const RelayedEvent = Schema.Union([
  Schema.Struct({
    type: Schema.Literal("stage-progress"),
    done: Schema.Number,
    total: Schema.optionalKey(Schema.Number),
    unit: Schema.optionalKey(Schema.String),
    message: Schema.optionalKey(Schema.String),
    metrics: Schema.optionalKey(Schema.Record(Schema.String, Schema.Number))
  }),
  Schema.Struct({ type: Schema.Literal("stage-log"), message: Schema.String })
])

const parseJson = (line: string): unknown => {
  try {
    return JSON.parse(line)
  } catch {
    return undefined
  }
}

/** Waits (bounded) until a cancelled job has left the running states. */
const stopped = async (queue: SlurmQueue, jobId: string) => {
  const deadline = Date.now() + CANCEL_WAIT_MS
  while (Date.now() < deadline) {
    const known = await queue.final(jobId)
    if (!known || !isActive(known.state)) return
    await new Promise((r) => setTimeout(r, 500))
  }
}

const readExitCode = async (files: JobFiles): Promise<string | undefined> =>
  (await readFile(files.exitCode, "utf8").catch(() => undefined))?.trim() || undefined

const readResult = async (files: JobFiles, state: JobState): Promise<JobResult | undefined> => {
  // A job that completed wrote its result before it ended; give a shared filesystem a moment to show it here.
  const deadline = Date.now() + (state.state === "COMPLETED" ? RESULT_GRACE_MS : 0)
  for (;;) {
    const result = await readJsonFile(files.result, JobResult)
    if (result || Date.now() >= deadline) return result
    await new Promise((r) => setTimeout(r, 500))
  }
}

/** The last `n` lines of a file (its last 64 KiB at most). */
const tail = async (file: string, n: number): Promise<Array<string>> => {
  const fh = await open(file, "r").catch(() => undefined)
  if (!fh) return []
  try {
    const { size } = await fh.stat()
    const length = Math.min(size, 64 << 10)
    const buffer = Buffer.alloc(length)
    await fh.read(buffer, 0, length, size - length)
    const lines = buffer.toString("utf8").trimEnd().split("\n")
    return lines.length === 1 && lines[0] === "" ? [] : lines.slice(-n)
  } finally {
    await fh.close()
  }
}

const SIGNALS: Readonly<Record<number, string>> = { 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM" }

/** Why a job did not deliver its stage's outputs, and what to do about it: [reason, hint]. */
const explain = (state: JobState, result: JobResult | undefined, code: string | undefined): [string, string?] => {
  const limit = state.timeLimit ? ` (${state.timeLimit})` : ""
  const rerun = "run again to resume (training continues from its last checkpoint)"
  switch (state.state) {
    case "TIMEOUT":
      return [`the job ran past its time limit${limit}`, `raise the stage's \`slurm: { time: … }\`; ${rerun}`]
    case "OUT_OF_MEMORY":
      return ["the job ran out of memory", `raise the stage's \`slurm: { mem: … }\`; ${rerun}`]
    case "CANCELLED":
      return ["the job was cancelled (scancel, or by the cluster's administrators)", rerun]
    case "NODE_FAIL":
    case "BOOT_FAIL":
      return ["the job's node failed", rerun]
    case "PREEMPTED":
      return ["the job was preempted by a job of higher priority", `${rerun}; a partition or QOS without preemption avoids it`]
    case "DEADLINE":
      return ["the job reached its deadline before it could run", rerun]
    case "UNKNOWN":
      return [
        "the job left the queue without writing its exit code, and Slurm keeps no record of it (no accounting)",
        `it was most likely cancelled or its node failed; ${rerun}`
      ]
    case "COMPLETED":
      return ["the job ended without reporting a result (its result file is missing)", "see the job's log"]
    default: {
      // The stage's own error, when it failed rather than being stopped.
      if (result && !result.ok) return [result.message]
      const status = Number((code ?? "").split(":")[0])
      const signal = Number((code ?? "").split(":")[1]) || (status > 128 ? status - 128 : 0)
      return signal
        ? [
            `tomoprior was killed by signal ${signal}${SIGNALS[signal] ? ` (${SIGNALS[signal]})` : ""} on the node before it finished`,
            `a kill -9, or the kernel's out-of-memory killer (then raise \`slurm: { mem: … }\`); ${rerun}`
          ]
        : [`tomoprior exited with code ${status} on the node without reporting a result`, "see the job's log"]
    }
  }
}
