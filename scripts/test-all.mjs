#!/usr/bin/env node
// Runs every project's `test` target through Nx (`nx run-many -t test`, extra arguments passed on,
// e.g. --projects=… or --skip-nx-cache) and ends the log with one line CI can read,
// `N passed, N failed`, summed over the node:test summaries each project printed (replayed from
// Nx's cache too). Cancelled tests (a file that timed out or crashed) count as failed.
import { spawn } from "node:child_process"
import { resolve } from "node:path"

const root = resolve(import.meta.dirname, "..")
const nx = resolve(root, "node_modules/.bin/nx")
const args = ["run-many", "-t", "test", "--output-style=static", ...process.argv.slice(2)]
// Nx takes its settings (no daemon, cloud or TUI) from the workspace's .env. One project at a time
// unless --parallel says otherwise: each already runs two test files at once (scripts/test.mjs).
const env = { NX_PARALLEL: "1", ...process.env }
const child = spawn(nx, args, { cwd: root, env, stdio: ["inherit", "pipe", "inherit"] })

const counts = { pass: 0, fail: 0, cancelled: 0 }
// node:test's summary: `# pass 12` (TAP, when not on a terminal) or `ℹ pass 12` (spec reporter).
const SUMMARY = /^(?:#|ℹ) (pass|fail|cancelled) (\d+)\s*$/
let partial = ""
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk)
  const lines = (partial + chunk.toString("utf8")).split("\n")
  partial = lines.pop() ?? ""
  for (const line of lines) {
    const m = SUMMARY.exec(line.replace(/\x1b\[[0-9;]*m/g, ""))
    if (m) counts[m[1]] += Number(m[2])
  }
})
child.on("close", (code) => {
  const failed = counts.fail + counts.cancelled
  console.log(`${counts.pass} passed, ${failed} failed`)
  process.exit(code !== 0 ? (code ?? 1) : failed > 0 ? 1 : 0)
})
