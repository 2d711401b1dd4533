import { INDEX_FILE, ReportIndex } from "@tomoprior/core"
import type { RunEvent } from "@tomoprior/runner"
import { Schema } from "effect"
import { readFileSync } from "node:fs"
import { join, relative } from "node:path"
import type { Io } from "./command.ts"

export interface Renderer {
  readonly emit: (event: RunEvent) => void
  readonly close: () => void
}

/** The HTML page of a Report artifact, so the last thing a run prints is where to look. */
const reportPage = (dir: string): string | undefined => {
  try {
    const index = Schema.decodeUnknownSync(ReportIndex)(JSON.parse(readFileSync(join(dir, INDEX_FILE), "utf8")))
    return join(dir, index.html)
  } catch {
    return undefined
  }
}

/** `--json`: one object per line, exactly the runner's events. */
export const jsonRenderer = (io: Io): Renderer => ({
  emit: (e) => io.stdout(JSON.stringify(e) + "\n"),
  close: () => undefined
})

interface Live {
  readonly stage: string
  /** Rate and ETA count from the first progress report, not from the stage's start-up. */
  t0?: number
  done0: number
  done: number
  total?: number
  unit?: string
  message?: string
  metrics?: Readonly<Record<string, number>>
  lastPrinted: number
}

const PLAIN_PROGRESS_EVERY_MS = 2000
const BAR_WIDTH = 24

const duration = (s: number): string =>
  s < 60
    ? `${s.toFixed(1)}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`
      : `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`

const progressText = (l: Live, now: number): string => {
  const elapsed = l.t0 === undefined ? 0 : (now - l.t0) / 1000
  const rate = elapsed > 0 ? (l.done - l.done0) / elapsed : 0
  const unit = l.unit ?? "items"
  const parts = [l.total ? `${l.done}/${l.total} ${unit}` : `${l.done} ${unit}`]
  if (rate > 0) parts.push(`${rate >= 10 ? rate.toFixed(0) : rate.toFixed(2)} ${unit}/s`)
  if (rate > 0 && l.total) parts.push(`ETA ${duration(Math.max(0, l.total - l.done) / rate)}`)
  for (const [k, v] of Object.entries(l.metrics ?? {})) parts.push(`${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`)
  if (l.message) parts.push(l.message)
  return parts.join("  ")
}

/**
 * Human output. On a TTY the running stages are drawn as progress bars under the log and redrawn
 * in place; elsewhere (CI logs, pipes) progress is a plain line per stage at most every 2 s.
 */
export const humanRenderer = (io: Io, options: { readonly tty: boolean }): Renderer => {
  const live = new Map<string, Live>()
  let drawn = 0
  const rel = (p: string) => {
    const r = relative(io.cwd, p)
    return r.startsWith("..") ? p : r
  }
  const clearLive = () => {
    if (options.tty && drawn > 0) io.stdout(`\x1b[${drawn}F\x1b[J`)
    drawn = 0
  }
  const drawLive = () => {
    if (!options.tty) return
    const now = Date.now()
    const lines = [...live.values()].map((l) => {
      const frac = l.total ? Math.min(1, l.done / l.total) : 0
      const filled = Math.round(frac * BAR_WIDTH)
      const bar = l.total ? `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%` : "[running]"
      return (l.t0 === undefined ? `  ${l.stage}  ${bar}` : `  ${l.stage}  ${bar}  ${progressText(l, now)}`).slice(0, 200)
    })
    for (const line of lines) io.stdout(line + "\n")
    drawn = lines.length
  }
  const print = (line: string) => {
    clearLive()
    io.stdout(line + "\n")
    drawLive()
  }
  let lastDraw = 0
  return {
    emit: (e) => {
      switch (e.type) {
        case "run-start": {
          const what = `pipeline ${e.pipeline}${e.variant ? ` with ${e.variant}` : ""}`
          return print(`run ${e.runId}: ${what}, ${e.stages.length} stage${e.stages.length === 1 ? "" : "s"}, store ${rel(e.store)}`)
        }
        case "notice":
          return print(`note: ${e.message}`)
        case "stage-cached":
          return print(`✓ ${e.stage}  cached`)
        case "stage-start":
          live.set(e.stage, { stage: e.stage, done0: 0, done: 0, lastPrinted: 0 })
          return print(`▶ ${e.stage} (${e.uses})  ${e.reasons.join("; ")}`)
        case "stage-progress": {
          const l = live.get(e.stage)
          if (!l) return
          if (l.t0 === undefined) [l.t0, l.done0] = [Date.now(), e.done]
          Object.assign(l, { done: e.done, total: e.total, unit: e.unit, message: e.message, metrics: e.metrics })
          const now = Date.now()
          if (options.tty) {
            if (now - lastDraw > 100 || e.done === e.total) {
              lastDraw = now
              clearLive()
              drawLive()
            }
          } else if (now - l.lastPrinted >= PLAIN_PROGRESS_EVERY_MS) {
            l.lastPrinted = now
            print(`  ${e.stage}  ${progressText(l, now)}`)
          }
          return
        }
        case "stage-log":
          return print(`  ${e.stage}: ${e.message}`)
        case "stage-done":
          live.delete(e.stage)
          return print(`✓ ${e.stage}  done in ${duration(e.seconds)}`)
        case "stage-failed":
          live.delete(e.stage)
          return print(`✗ ${e.stage}  failed: ${e.message.replace(/\n/g, "\n    ")}`)
        case "stage-skipped":
          return print(`- ${e.stage}  skipped: ${e.reason}`)
        case "run-done": {
          clearLive()
          live.clear()
          const counts = [
            `${e.ran} ran`,
            `${e.cached} cached`,
            ...(e.failed ? [`${e.failed} failed`] : []),
            ...(e.skipped ? [`${e.skipped} skipped`] : [])
          ]
          io.stdout(`${e.ok ? "done" : "FAILED"} in ${duration(e.seconds)}: ${counts.join(", ")}\n`)
          const rows = Object.entries(e.outputs).flatMap(([stage, ports]) =>
            Object.entries(ports).map(([port, dir]) => `  ${stage}.${port}  ${rel(dir)}`)
          )
          if (rows.length) io.stdout(`outputs:\n${rows.join("\n")}\n`)
          for (const dir of Object.values(e.outputs).flatMap((ports) => Object.values(ports))) {
            const html = reportPage(dir)
            if (html) io.stdout(`report: ${rel(html)}\n`)
          }
          return
        }
      }
    },
    close: clearLive
  }
}
