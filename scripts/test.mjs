#!/usr/bin/env node
// Runs every *.test.ts under the given directories (default: the whole workspace) in one
// node:test invocation, so the log ends with node's own summary. Node 20 neither expands
// globs after --test nor discovers .ts files, hence the explicit file list.
import { readdirSync, statSync } from "node:fs"
import { join, resolve, relative } from "node:path"
import { spawnSync } from "node:child_process"

const root = resolve(import.meta.dirname, "..")
const args = process.argv.slice(2)
const passThrough = args.filter((a) => a.startsWith("--"))
const dirs = args.filter((a) => !a.startsWith("--"))
const roots = dirs.length > 0 ? dirs.map((d) => resolve(d)) : ["libs", "apps", "test", "examples"].map((d) => join(root, d))

const files = []
const walk = (dir) => {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const e of entries) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue
    const p = join(dir, e.name)
    if (e.isDirectory()) walk(p)
    else if (e.name.endsWith(".test.ts")) files.push(p)
  }
}
for (const r of roots) {
  if (statSync(r, { throwIfNoEntry: false })?.isFile()) files.push(r)
  else walk(r)
}
files.sort()
if (files.length === 0) {
  console.error(`no *.test.ts files under ${roots.map((r) => relative(root, r) || ".").join(", ")}`)
  process.exit(1)
}
const res = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...passThrough, ...files], {
  stdio: "inherit",
  cwd: root,
  env: { ...process.env, NX_DAEMON: "false", NX_NO_CLOUD: "true" }
})
process.exit(res.status ?? 1)
