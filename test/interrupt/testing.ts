import { spawn, type ChildProcess } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

export const REPO = resolve(import.meta.dirname, "../..")
const BIN = join(REPO, "apps/cli/bin/tomoprior.js")

/** The clean outcome of Ctrl-C, as the CLI prints it. */
export const CLEAN_INTERRUPT = "interrupted: temporary outputs removed, the store is consistent"
/** Generous for a loaded CI machine: a clean interrupt takes well under a second on an idle one. */
export const EXIT_BOUND_MS = 30_000

export type RunEvent = Readonly<Record<string, any>>

export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly events: ReadonlyArray<RunEvent>
  /** From the first signal sent to the exit; undefined when no signal was sent. */
  readonly exitMs: number | undefined
  /** The event the signal was sent on, if any. */
  readonly trigger: RunEvent | undefined
  /** The child did not exit by itself within EXIT_BOUND_MS of the signal and was killed. */
  readonly killed: boolean
}

export interface Interrupt {
  /** Send SIGINT right after the first `--json` event that matches. */
  readonly on: (event: RunEvent) => boolean
  /** Send a second SIGINT right after the first (the impatient user). */
  readonly twice?: boolean
  /** Wait this long after the event before signalling (the sweep's random moments). */
  readonly delayMs?: number
}

export const tempDir = (): string => mkdtempSync(join(tmpdir(), "tomoprior-interrupt-"))

export const writePipeline = (dir: string, yaml: string): string => {
  const file = join(dir, "pipeline.yaml")
  writeFileSync(file, yaml)
  return file
}

const spawnRun = (file: string, store: string, args: ReadonlyArray<string>): ChildProcess =>
  spawn(process.execPath, [BIN, "run", file, "--store", store, "--json", ...args], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TOMOPRIOR_STORE: "", TOMOPRIOR_DEBUG: "" }
  })

/**
 * `tomoprior run --json` in a child process; with `interrupt`, SIGINT when its event shows up
 * (progress events, not fixed sleeps, choose the moment). A child still alive EXIT_BOUND_MS after
 * the signal is killed and reported as such.
 */
export interface RunOptions {
  readonly interrupt?: Interrupt
  /** More `tomoprior run` arguments. */
  readonly args?: ReadonlyArray<string>
  /** Sees every `--json` event as it arrives. */
  readonly onEvent?: (event: RunEvent) => void
}

export const runCli = (file: string, store: string, options: RunOptions = {}): Promise<RunResult> =>
  new Promise((done) => {
    const { interrupt, args = [], onEvent } = options
    const child = spawnRun(file, store, args)
    let stdout = ""
    let stderr = ""
    let pending = ""
    const events: RunEvent[] = []
    let sentAt: number | undefined
    let trigger: RunEvent | undefined
    let killed = false
    let armed = false
    let watchdog: NodeJS.Timeout | undefined
    const signal = (event: RunEvent) => {
      if (child.exitCode !== null) return
      trigger = event
      sentAt = Date.now()
      child.kill("SIGINT")
      if (interrupt?.twice) child.kill("SIGINT")
      watchdog = setTimeout(() => {
        killed = true
        child.kill("SIGKILL")
      }, EXIT_BOUND_MS)
    }
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d
      pending += d
      const lines = pending.split("\n")
      pending = lines.pop()!
      for (const line of lines) {
        if (!line.startsWith("{")) continue
        const event = JSON.parse(line) as RunEvent
        events.push(event)
        onEvent?.(event)
        if (interrupt === undefined || armed || !interrupt.on(event)) continue
        armed = true
        if (interrupt.delayMs === undefined) signal(event)
        else setTimeout(() => signal(event), interrupt.delayMs)
      }
    })
    child.stderr!.on("data", (d: Buffer) => (stderr += d))
    child.on("close", (code, sig) => {
      clearTimeout(watchdog)
      done({ code, signal: sig, stdout, stderr, events, exitMs: sentAt === undefined ? undefined : Date.now() - sentAt, trigger, killed })
    })
  })

/** Processes still running whose command line mentions `text` (Linux /proc; empty elsewhere). */
export const processesMentioning = (text: string): Array<number> => {
  if (!existsSync("/proc")) return []
  const found: number[] = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(join("/proc", entry, "cmdline"), "utf8").includes(text)) found.push(Number(entry))
    } catch {
      // the process ended while we looked
    }
  }
  return found
}

export const stagesWith = (r: RunResult, type: string): Array<string> =>
  r.events.filter((e) => e.type === type).map((e) => e.stage as string)

export const logsOf = (r: RunResult, stage: string): Array<string> =>
  r.events.filter((e) => e.type === "stage-log" && e.stage === stage).map((e) => e.message as string)
