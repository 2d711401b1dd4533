import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { test } from "node:test"
import { builtinStages } from "./index.ts"

/** The tfjs modules a fresh Node process has loaded after importing `specifiers`. */
const tfjsLoadedBy = (...specifiers: ReadonlyArray<string>): Array<string> => {
  const script =
    `for (const s of ${JSON.stringify(specifiers)}) await import(s);` +
    `const { createRequire } = await import("node:module");` +
    `console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes("@tensorflow"))))`
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: import.meta.dirname })
  return JSON.parse(out.toString()) as Array<string>
}

test("the catalog lists the nine built-in stages, each once", () => {
  const names = builtinStages.packages.flatMap((p) => p.stages.map((s) => s.name))
  assert.equal(names.length, 9)
  assert.equal(new Set(names).size, 9)
})

test("importing every stage and the compute layer loads no tfjs (plan, dag and stages stay fast); compute itself does", () => {
  assert.deepEqual(tfjsLoadedBy("@tomoprior/catalog", "@tomoprior/compute/layer"), [])
  assert.ok(tfjsLoadedBy("@tomoprior/compute").some((m) => m.includes("tfjs-core")))
})
