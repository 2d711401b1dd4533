import { Schema } from "effect"
import { execFile } from "node:child_process"

/** The Slurm commands cannot be run here at all (not installed, or the controller does not answer). */
export class SlurmUnavailable extends Schema.TaggedError<SlurmUnavailable>()("SlurmUnavailable", {
  command: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `--executor slurm: \`${this.command}\` failed: ${this.reason}\n` +
      "  hint: run where the Slurm client commands work (a login node of the cluster), or use --executor local"
    )
  }
}

interface CommandResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const run = (command: string, args: ReadonlyArray<string>): Promise<CommandResult> =>
  new Promise((resolve) =>
    execFile(command, [...args], { timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0
      const reason = error && typeof error.code === "string" ? `${error.code === "ENOENT" ? "not found on PATH" : error.code}` : ""
      resolve({ code, stdout, stderr: stderr || reason || (error?.killed ? "timed out after 60 s" : "") })
    })
  )

const firstLine = (text: string): string => text.trim().split("\n")[0] ?? ""

/** Job states in which a job may still run (or be requeued and run again). */
const ACTIVE = new Set([
  "PENDING",
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "SUSPENDED",
  "STOPPED",
  "REQUEUED",
  "REQUEUE_FED",
  "REQUEUE_HOLD",
  "RESIZING",
  "SIGNALING",
  "STAGE_OUT",
  "RESV_DEL_HOLD",
  "SPECIAL_EXIT"
])
export const isActive = (state: string): boolean => ACTIVE.has(state)

export interface JobState {
  /** COMPLETED, FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED… (`sacct` adds "by <uid>" to CANCELLED; dropped). */
  readonly state: string
  /** `exit:signal` as Slurm reports it, e.g. "1:0" or "0:15". */
  readonly exitCode?: string
  readonly reason?: string
  readonly timeLimit?: string
}

/** `scontrol -o show job` prints one line of Key=Value pairs. */
export const parseScontrol = (line: string): JobState | undefined => {
  const field = (k: string) => new RegExp(`(?:^|\\s)${k}=(\\S+)`).exec(line)?.[1]
  const state = field("JobState")
  if (!state) return undefined
  const reason = field("Reason")
  const exitCode = field("ExitCode")
  const timeLimit = field("TimeLimit")
  return {
    state,
    ...(exitCode ? { exitCode } : {}),
    ...(reason && reason !== "None" ? { reason } : {}),
    ...(timeLimit ? { timeLimit } : {})
  }
}

/** `sacct -n -X -P -o State,ExitCode,Timelimit`: one `|`-separated line per job. */
export const parseSacct = (text: string): JobState | undefined => {
  const [state, exitCode, timeLimit] = firstLine(text).split("|")
  if (!state) return undefined
  return { state: state.split(" ")[0], ...(exitCode ? { exitCode } : {}), ...(timeLimit ? { timeLimit } : {}) }
}

/**
 * How a job ended when Slurm no longer remembers it (no accounting, MinJobAge passed), from the
 * exit-code file its batch script writes: UNKNOWN when there is none (the script never got to
 * write it: cancelled, timed out or its node failed).
 */
export const stateFromExitCode = (code: string | undefined): JobState =>
  code === undefined ? { state: "UNKNOWN" } : { state: code === "0" ? "COMPLETED" : "FAILED", exitCode: `${code}:0` }

/**
 * The submitting side's view of the Slurm queue. All jobs of a run share one `squeue` call per
 * poll interval (one per job would load the controller of a big cluster). A finished job's exit
 * is read from `sacct` where accounting is configured, else from `scontrol show job` while the
 * controller still remembers it (MinJobAge); the caller falls back to the job's exit-code file.
 */
export class SlurmQueue {
  private snapshot: { at: number; states: Promise<ReadonlyMap<string, string> | undefined> } | undefined
  private accounting: Promise<boolean> | undefined
  private readonly jobs = new Set<string>()

  constructor(
    private readonly pollMs: number,
    /** Told when the queue cannot be asked (the run keeps trying). */
    private readonly warn: (message: string) => void
  ) {}

  /** Fails when Slurm's client commands cannot reach a controller. */
  static async check(): Promise<SlurmUnavailable | undefined> {
    const r = await run("sbatch", ["--version"])
    if (r.code !== 0) return new SlurmUnavailable({ command: "sbatch --version", reason: firstLine(r.stderr) || `exit ${r.code}` })
    const ping = await run("scontrol", ["ping"])
    if (ping.code !== 0 || !/\bUP\b/.test(ping.stdout))
      return new SlurmUnavailable({ command: "scontrol ping", reason: firstLine(ping.stdout || ping.stderr) || "the controller is down" })
    return undefined
  }

  /** Submits a batch script; the job id, or sbatch's complaint. */
  async submit(args: ReadonlyArray<string>, script: string): Promise<{ jobId: string } | { error: string }> {
    const r = await run("sbatch", ["--parsable", ...args, script])
    // --parsable prints `<id>` or `<id>;<cluster>`.
    const jobId = /^(\d+)(;\S+)?$/m.exec(r.stdout)?.[1]
    if (r.code !== 0 || !jobId) return { error: firstLine(r.stderr) || `sbatch exited with ${r.code}` }
    this.jobs.add(jobId)
    return { jobId }
  }

  /**
   * The job's state as the queue lists it (`state` undefined when it is not listed), or undefined
   * when squeue could not be asked: a controller restarting or out of reach says nothing about the job.
   */
  async listed(jobId: string): Promise<{ readonly state: string | undefined } | undefined> {
    const now = Date.now()
    if (!this.snapshot || now - this.snapshot.at >= this.pollMs) this.snapshot = { at: now, states: this.query([...this.jobs]) }
    const states = await this.snapshot.states
    return states && { state: states.get(jobId) }
  }

  private async query(ids: ReadonlyArray<string>): Promise<ReadonlyMap<string, string> | undefined> {
    if (ids.length === 0) return new Map()
    const r = await run("squeue", ["-h", "-t", "all", "-o", "%i|%T", "-j", ids.join(",")])
    if (r.code !== 0) {
      // Every id is unknown to the controller: nothing is listed, which is an answer.
      if (/Invalid job id/i.test(r.stderr)) return new Map()
      this.warn(`squeue failed (${firstLine(r.stderr) || `exit ${r.code}`}); still waiting for the jobs`)
      return undefined
    }
    const states = new Map<string, string>()
    for (const line of r.stdout.split("\n")) {
      const [id, state] = line.trim().split("|")
      if (id && state) states.set(id, state)
    }
    return states
  }

  /** How a job ended (or that it is still active), from sacct or scontrol; undefined when Slurm no longer knows it. */
  async final(jobId: string): Promise<JobState | undefined> {
    this.accounting ??= run("scontrol", ["show", "config"]).then(
      (r) => r.code === 0 && !/AccountingStorageType\s*=\s*accounting_storage\/none/.test(r.stdout)
    )
    if (await this.accounting) {
      const r = await run("sacct", ["-n", "-X", "-P", "-j", jobId, "-o", "State,ExitCode,Timelimit"])
      const s = r.code === 0 ? parseSacct(r.stdout) : undefined
      if (s) return s
    }
    const r = await run("scontrol", ["-o", "show", "job", jobId])
    return r.code === 0 ? parseScontrol(r.stdout) : undefined
  }

  /** Asks Slurm to stop a job (SIGTERM, then SIGKILL after the cluster's KillWait). */
  async cancel(jobId: string): Promise<void> {
    await run("scancel", [jobId])
  }

  /** Forgets a finished job, so the queue is not asked about it any more. */
  done(jobId: string): void {
    this.jobs.delete(jobId)
  }
}
