import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
  existsSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, test } from "node:test"
import { fileURLToPath } from "node:url"
import { addonOverride, nativeSwitch } from "./index.ts"

const script = fileURLToPath(new URL("../scripts/build.mjs", import.meta.url))
const work = mkdtempSync(join(tmpdir(), "tomoprior-native-build-"))
after(() => rmSync(work, { recursive: true, force: true }))

const build = (out: string, env: Record<string, string>) =>
  spawnSync(process.execPath, [script, "--out", out], { env: { ...process.env, ...env }, encoding: "utf8" })

const gpp = spawnSync("g++", ["--version"]).status === 0

test("without a C++ compiler the build exits 0, says why and how to get native speed, and records the reason", () => {
  const out = join(work, "no-compiler")
  const r = build(out, { CXX: join(work, "no-such-g++") })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stderr, /not built \(no C\+\+ compiler: .*no-such-g\+\+ not found\); training will use the wasm backend/)
  assert.match(r.stderr, /apt-get install libdnnl-dev g\+\+, then npm run build -w @tomoprior\/native/)
  assert.match(readFileSync(join(out, "unavailable.txt"), "utf8"), /no C\+\+ compiler/)
  assert.equal(existsSync(join(out, "tomoprior_native.node")), false)
})

test(
  "without oneDNN's headers (a real g++ whose system root lacks them) the build exits 0 naming libdnnl-dev",
  { skip: !gpp && "no g++" },
  () => {
    // /usr/include as seen by the compiler, minus oneDNN; --sysroot is how a machine without libdnnl-dev looks to g++.
    const root = join(work, "sysroot")
    mkdirSync(join(root, "usr", "include"), { recursive: true })
    for (const entry of readdirSync("/usr/include"))
      if (!/^(oneapi|dnnl)/.test(entry)) symlinkSync(join("/usr/include", entry), join(root, "usr", "include", entry))
    const compiler = join(work, "g++-without-onednn")
    writeFileSync(compiler, `#!/bin/sh\nexec g++ --sysroot=${root} "$@"\n`)
    chmodSync(compiler, 0o755)
    const out = join(work, "no-onednn")
    const r = build(out, { CXX: compiler })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /not built \(libdnnl-dev is not installed \(oneapi\/dnnl\/dnnl\.hpp not found\)\)/)
    assert.match(readFileSync(join(out, "unavailable.txt"), "utf8"), /libdnnl-dev is not installed/)
  }
)

/** What loadNative() reports in a fresh process with these environment variables: the reason, or about(). */
const loadWith = (env: Record<string, string>) => {
  const report = `console.log(JSON.stringify("addon" in l ? l.addon.about() : l))`
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "-e", `import("./index.ts").then((m) => { const l = m.loadNative(); ${report} })`],
    { cwd: fileURLToPath(new URL(".", import.meta.url)), env: { ...process.env, ...env }, encoding: "utf8" }
  )
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout) as unknown
}

test(`${nativeSwitch}=off makes the addon count as absent, with the reason`, () => {
  assert.deepEqual(loadWith({ [nativeSwitch]: "off" }), { unavailable: `the native kernels are switched off (${nativeSwitch}=off)` })
})

const built = fileURLToPath(new URL("../build/tomoprior_native.node", import.meta.url))

test(`${addonOverride} loads the addon from another path, and names that path when it is missing`, () => {
  const missing = join(work, "elsewhere", "tomoprior_native.node")
  assert.deepEqual(loadWith({ [addonOverride]: missing }), {
    unavailable: `the native kernels are not built: ${addonOverride}=${missing} does not exist`
  })
  if (!existsSync(built)) return
  const moved = join(work, "moved.node")
  copyFileSync(built, moved)
  assert.match(String((loadWith({ [addonOverride]: moved }) as { onednn?: string }).onednn), /^[23]\.\d+/)
})
