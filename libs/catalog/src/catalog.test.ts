import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"
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

test("the catalog lists the eleven built-in stages, each once", () => {
  const names = builtinStages.packages.flatMap((p) => p.stages.map((s) => s.name))
  assert.equal(names.length, 11)
  assert.equal(new Set(names).size, 11)
})

test("importing every stage and the compute layer loads no tfjs (plan, dag and stages stay fast); compute itself does", () => {
  assert.deepEqual(tfjsLoadedBy("@tomoprior/catalog", "@tomoprior/compute/layer"), [])
  assert.ok(tfjsLoadedBy("@tomoprior/compute").some((m) => m.includes("tfjs-core")))
})

/**
 * The stage template every built-in stage follows, so copying any one of them is copying the
 * right thing: params.ts (the params schema with every default and rule), stage.ts, a stage test,
 * a README whose parameter table the stage test keeps in step with the schema.
 */
const TEMPLATE = ["README.md", "package.json", "src/index.ts", "src/params.ts", "src/stage.ts", "src/stage.test.ts"]

test("every built-in stage has the template's files, and its stage test checks the README's parameter table", () => {
  for (const pkg of builtinStages.packages) {
    for (const stage of pkg.stages) {
      const root = dirname(dirname(fileURLToPath(stage.source)))
      const missing = TEMPLATE.filter((f) => !existsSync(join(root, f)))
      assert.deepEqual(missing, [], `${stage.name} (${root}) lacks ${missing.join(", ")}`)
      assert.match(readFileSync(join(root, "README.md"), "utf8"), /<!-- params: generated[\s\S]*<!-- \/params -->/, stage.name)
      assert.match(readFileSync(join(root, "src/stage.test.ts"), "utf8"), /checkParamsTable\(/, stage.name)
    }
  }
})
