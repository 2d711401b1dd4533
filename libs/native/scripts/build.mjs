#!/usr/bin/env node
// Builds the addon (build/tomoprior_native.node) against the system's oneDNN, offline: g++, the
// oneDNN headers and library from libdnnl-dev, Node-API headers from the node-api-headers package.
// Runs at `npm ci` (this package's install script). Without a compiler or libdnnl-dev it records
// why in build/unavailable.txt and exits 0, so installing still succeeds and training runs on wasm.
//   --verbose  print the compiler's output       --require  exit 1 when the addon cannot be built (CI)
//   --out DIR  build there instead of build/ (tests)
import { spawn } from "node:child_process"
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const sources = join(root, "binding")
const outAt = process.argv.indexOf("--out")
const out = outAt > 0 ? process.argv[outAt + 1] : join(root, "build")
const target = join(out, "tomoprior_native.node")
const unavailable = join(out, "unavailable.txt")
const verbose = process.argv.includes("--verbose")
const required = process.argv.includes("--require")
const compiler = process.env.CXX || "g++"

const run = (args) =>
  new Promise((resolve) => {
    const child = spawn(compiler, args, { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    child.on("error", (e) => resolve({ ok: false, output: e.code === "ENOENT" ? `no C++ compiler: ${compiler} not found` : e.message }))
    child.on("close", (code) => resolve({ ok: code === 0, output }))
  })

/** The one line a user needs from a failed compile. */
const reasonOf = (output) => {
  if (/no C\+\+ compiler/.test(output)) return output.trim()
  if (/oneapi\/dnnl\/dnnl\.hpp: No such file/.test(output)) return "libdnnl-dev is not installed (oneapi/dnnl/dnnl.hpp not found)"
  if (/cannot find -ldnnl/.test(output)) return "libdnnl-dev is not installed (the linker cannot find -ldnnl)"
  const error = output.split("\n").find((l) => /error/.test(l))
  return `the compile failed: ${(error ?? output.trim().split("\n")[0] ?? "unknown error").trim()}`
}

const fail = (reason) => {
  mkdirSync(out, { recursive: true })
  writeFileSync(unavailable, reason + "\n")
  console.error(`@tomoprior/native: not built (${reason}); training will use the wasm backend.`)
  console.error("  For native CPU speed: apt-get install libdnnl-dev g++, then npm run build -w @tomoprior/native")
  process.exit(required ? 1 : 0)
}

const files = readdirSync(sources).filter((f) => f.endsWith(".cc"))
const newest = Math.max(...readdirSync(sources).map((f) => statSync(join(sources, f)).mtimeMs))
const built = statSync(target, { throwIfNoEntry: false })
if (built !== undefined && built.mtimeMs > newest) {
  if (verbose) console.error(`@tomoprior/native: ${target} is up to date`)
  process.exit(0)
}

let headers
try {
  headers = join(dirname(createRequire(import.meta.url).resolve("node-api-headers/package.json")), "include")
} catch {
  fail("the node-api-headers package is missing (run npm ci)")
}

mkdirSync(out, { recursive: true })
const flags = ["-O3", "-std=c++17", "-fPIC", "-fopenmp", "-fvisibility=hidden", "-DNAPI_VERSION=8", "-I", headers]
const objects = files.map((f) => join(out, f.replace(/\.cc$/, ".o")))
// One compiler per source file, at most two at a time (the machines this targets have two cores).
const results = []
for (let i = 0; i < files.length; i += 2) {
  const batch = files.slice(i, i + 2).map((f, j) => run([...flags, "-c", join(sources, f), "-o", objects[i + j]]))
  results.push(...(await Promise.all(batch)))
}
const failed = results.find((r) => !r.ok)
if (failed) {
  if (verbose) console.error(failed.output)
  fail(reasonOf(failed.output))
}
const temporary = `${target}.${process.pid}.tmp`
const link = await run(["-shared", "-fopenmp", ...objects, "-o", temporary, "-ldnnl"])
for (const o of objects) rmSync(o, { force: true })
if (!link.ok) {
  if (verbose) console.error(link.output)
  rmSync(temporary, { force: true })
  fail(reasonOf(link.output))
}
// A process that already loaded the old addon keeps its mapping: replace by rename, not in place.
renameSync(temporary, target)
rmSync(unavailable, { force: true })
if (verbose) console.error(`@tomoprior/native: built ${target}`)
