import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cli, jsonLines, stagesWith, tempDir, verifyStore, writePipeline } from "./testing.ts"

const CHAIN = `pipeline: chain
plugins: ["$FAKE"]
stages:
  data:   { uses: fake-source, with: { files: 2, bytes: 500 } }
  norm:   { uses: fake-add, in: { volumes: data.volumes }, with: { add: 3 } }
  tuples: { uses: fake-tuples, in: { volumes: norm.volumes } }
  train:  { uses: fake-train, in: { tuples: tuples.tuples }, with: { lr: 0.001 } }
  side:   { uses: fake-add, in: { volumes: data.volumes }, with: { add: 7 } }
`

const setup = (yaml = CHAIN) => {
  const dir = tempDir()
  return { dir, file: writePipeline(dir, "chain.yaml", yaml) }
}

test("an unchanged second run executes nothing and says each stage is cached; plan agrees", async () => {
  const { dir, file } = setup()
  const first = await cli(["run", file, "--json"], dir)
  assert.equal(first.code, 0, first.stderr)
  assert.deepEqual(stagesWith(first.stdout, "stage-done"), ["data", "norm", "side", "train", "tuples"])
  const second = await cli(["run", file, "--json"], dir)
  assert.equal(second.code, 0)
  assert.deepEqual(stagesWith(second.stdout, "stage-start"), [])
  assert.deepEqual(stagesWith(second.stdout, "stage-cached"), ["data", "norm", "side", "train", "tuples"])
  const human = await cli(["run", file], dir)
  for (const id of ["data", "norm", "tuples", "train", "side"]) assert.match(human.stdout, new RegExp(`✓ ${id}  cached`))
  assert.match(human.stdout, /outputs:\n {2}data\.volumes {2}\.tomoprior\/artifacts\/[0-9a-f]{32}/)
  const plan = await cli(["plan", file, "--json"], dir)
  assert.deepEqual(
    jsonLines(plan.stdout).map((p) => [p.stage, p.status, p.reasons]),
    [
      ["data", "cached", ["cached"]],
      ["norm", "cached", ["cached"]],
      ["tuples", "cached", ["cached"]],
      ["train", "cached", ["cached"]],
      ["side", "cached", ["cached"]]
    ]
  )
  await verifyStore(join(dir, ".tomoprior"))
})

test("plan before any run says 'no previous run' and writes nothing", async () => {
  const { dir, file } = setup()
  const plan = await cli(["plan", file], dir)
  assert.equal(plan.code, 0)
  assert.match(plan.stdout, /data +run +no previous run\n/)
  assert.match(plan.stdout, /train +run +no previous run; upstream `tuples` will rerun/)
  assert.match(plan.stdout, /5 of 5 stages would run/)
  assert.equal(existsSync(join(dir, ".tomoprior")), false)
  assert.equal(existsSync(join(dir, "chain.lock.json")), false)
})

test("a param change reruns exactly that stage and its descendants, and plan names the param", async () => {
  const { dir, file } = setup()
  assert.equal((await cli(["run", file], dir)).code, 0)
  writePipeline(dir, "chain.yaml", CHAIN.replace("with: { add: 3 }", "with: { add: 4 }"))
  const plan = await cli(["plan", file, "--json"], dir)
  const why = Object.fromEntries(jsonLines(plan.stdout).map((p) => [p.stage, p.reasons]))
  assert.deepEqual(why.norm, ["param `add` 3 → 4"])
  assert.deepEqual(why.tuples, ["upstream `norm` will rerun"])
  assert.deepEqual(why.data, ["cached"])
  const rerun = await cli(["run", file, "--json"], dir)
  assert.deepEqual(stagesWith(rerun.stdout, "stage-start"), ["norm", "train", "tuples"])
  assert.deepEqual(stagesWith(rerun.stdout, "stage-cached"), ["data", "side"])
  const starts = Object.fromEntries(
    jsonLines(rerun.stdout)
      .filter((e) => e.type === "stage-start")
      .map((e) => [e.stage, e.reasons])
  )
  assert.deepEqual(starts.tuples, ["input `norm.volumes` changed"])
  // Reverting the param finds the earlier results in the store: nothing runs.
  writePipeline(dir, "chain.yaml", CHAIN)
  const back = await cli(["run", file, "--json"], dir)
  assert.deepEqual(stagesWith(back.stdout, "stage-start"), [])
})

test("an explicit default equals an omitted param (params are decoded before hashing)", async () => {
  const { dir, file } = setup()
  assert.equal((await cli(["run", file], dir)).code, 0)
  writePipeline(dir, "chain.yaml", CHAIN.replace("with: { lr: 0.001 }", "with: { lr: 0.001, seed: 1, fraction: 1 }"))
  const rerun = await cli(["run", file, "--json"], dir)
  assert.deepEqual(stagesWith(rerun.stdout, "stage-start"), [])
})

test("swapping `uses:` for another stage type with the same output kind reruns that stage and its descendants", async () => {
  const { dir, file } = setup()
  assert.equal((await cli(["run", file], dir)).code, 0)
  writePipeline(dir, "chain.yaml", CHAIN.replace("norm:   { uses: fake-add", "norm:   { uses: fake-xor"))
  const plan = await cli(["plan", file, "--json"], dir)
  assert.deepEqual(jsonLines(plan.stdout).find((p) => p.stage === "norm")!.reasons, ["stage type changed fake-add → fake-xor"])
  const rerun = await cli(["run", file, "--json"], dir)
  assert.deepEqual(stagesWith(rerun.stdout, "stage-start"), ["norm", "train", "tuples"])
})

test("--force reruns one stage; identical output keeps its dependants cached; --only runs a stage and its upstream", async () => {
  const { dir, file } = setup()
  const only = await cli(["run", file, "--only", "norm", "--json"], dir)
  assert.deepEqual(stagesWith(only.stdout, "stage-done"), ["data", "norm"])
  const forced = await cli(["run", file, "--force", "data", "--json"], dir)
  assert.deepEqual(stagesWith(forced.stdout, "stage-start"), ["data", "side", "train", "tuples"])
  assert.deepEqual(jsonLines(forced.stdout).find((e) => e.type === "stage-start" && e.stage === "data")!.reasons, ["forced"])
  assert.ok(stagesWith(forced.stdout, "stage-cached").includes("norm"))
  const bad = await cli(["run", file, "--force", "nope"], dir)
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /no stage `nope`/)
})

test("a deleted store entry is reported as 'cached result missing from store' and rebuilt", async () => {
  const { dir, file } = setup()
  assert.equal((await cli(["run", file], dir)).code, 0)
  rmSync(join(dir, ".tomoprior"), { recursive: true })
  const plan = await cli(["plan", file, "--json"], dir)
  assert.deepEqual(jsonLines(plan.stdout).find((p) => p.stage === "data")!.reasons, ["cached result missing from store"])
  assert.equal((await cli(["run", file], dir)).code, 0)
})

test("a failing stage fails its dependants, independent branches finish, exit code 1, typed message without a stack", async () => {
  const dir = tempDir()
  const file = writePipeline(
    dir,
    "fail.yaml",
    `pipeline: fail
plugins: ["$FAKE"]
stages:
  data:  { uses: fake-source }
  bad:   { uses: fake-fail, in: { volumes: data.volumes } }
  after: { uses: fake-add, in: { volumes: bad.volumes } }
  after2: { uses: fake-tuples, in: { volumes: after.volumes } }
  ok:    { uses: fake-add, in: { volumes: data.volumes } }
  input: { uses: fake-fail, with: { how: input } }
  defect: { uses: fake-fail, with: { how: defect } }
`
  )
  const r = await cli(["run", file], dir)
  assert.equal(r.code, 1)
  assert.match(r.stdout, /✗ bad {2}failed: bad: the phantom refused to cooperate \(hint: set `how: input` instead\)/)
  assert.match(r.stdout, /✗ input {2}failed: \/data\/scan-07\.tif: truncated after 12 of 40 slices/)
  assert.match(r.stdout, /✗ defect {2}failed: unexpected error: boom from fake-fail/)
  assert.match(r.stdout, /- after {2}skipped: upstream `bad` failed/)
  assert.match(r.stdout, /- after2 {2}skipped: upstream `bad` failed/)
  assert.match(r.stdout, /✓ ok {2}done/)
  assert.doesNotMatch(r.stdout + r.stderr, /^\s+at /m)
  assert.match(r.stdout, /FAILED .*2 ran, 0 cached, 3 failed, 2 skipped/)
  // The next run resumes: what succeeded is cached.
  const again = await cli(["run", file, "--json"], dir)
  assert.deepEqual(stagesWith(again.stdout, "stage-cached"), ["data", "ok"])
})

test("${params.x} interpolation, extends with overrides, matrix expansion and many-ports", async () => {
  const dir = tempDir()
  writePipeline(
    dir,
    "base.yaml",
    `pipeline: base
plugins: ["$FAKE"]
params: { size: 300, tag: v1 }
stages:
  data:   { uses: fake-source, with: { bytes: "\${params.size}", label: "run-\${params.tag}" } }
  tuples: { uses: fake-tuples, in: { volumes: data.volumes } }
  train:  { uses: fake-train, in: { tuples: tuples.tuples }, matrix: { seed: [1, 2], fraction: [0.1, 1] } }
  pick:   { uses: fake-collect, in: { encoders: "train[seed=2,fraction=0.1].encoder" } }
  all:    { uses: fake-collect, in: { encoders: train.encoder } }
`
  )
  const child = writePipeline(
    dir,
    "child.yaml",
    `pipeline: child
extends: base.yaml
params: { size: 200 }
stages:
  tuples: { with: { delayMs: 1 } }
  data:   { with: { files: 1 } }
`
  )
  const r = await cli(["run", child, "--json"], dir)
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.deepEqual(stagesWith(r.stdout, "stage-done"), [
    "all",
    "data",
    "pick",
    "train[seed=1,fraction=0.1]",
    "train[seed=1,fraction=1]",
    "train[seed=2,fraction=0.1]",
    "train[seed=2,fraction=1]",
    "tuples"
  ])
  const done = Object.fromEntries(
    jsonLines(r.stdout)
      .filter((e) => e.type === "stage-done")
      .map((e) => [e.stage, e.outputs])
  )
  const files = readFileSync(join(done.data.volumes, "manifest.json"), "utf8")
  assert.deepEqual(
    JSON.parse(files).files.map((f: { size: number }) => f.size),
    [200]
  ) // params.size overridden by child, files: 1 merged in
  const all = JSON.parse(readFileSync(join(done.all.report, "index.json"), "utf8"))
  assert.equal(all.encoders.length, 4)
  const pick = JSON.parse(readFileSync(join(done.pick.report, "index.json"), "utf8"))
  assert.deepEqual(
    pick.encoders.map((e: { producer: string }) => e.producer),
    ["train[seed=2,fraction=0.1]"]
  )
  const w = JSON.parse(readFileSync(join(done["train[seed=2,fraction=0.1]"].encoder, "weights.json"), "utf8"))
  assert.deepEqual([w.seed, w.fraction], [2, 0.1])
  // The tag param becomes part of the label, so changing it reruns data.
  writePipeline(dir, "child.yaml", readFileSync(child, "utf8").replace("size: 200", "size: 200, tag: v2"))
  const plan = await cli(["plan", child, "--json"], dir)
  assert.deepEqual(jsonLines(plan.stdout).find((p) => p.stage === "data")!.reasons, ['param `label` "run-v1" → "run-v2"'])
  const dag = await cli(["dag", child, "--mermaid"], dir)
  assert.match(dag.stdout, /^graph TD\n/)
  assert.match(dag.stdout, /-->\|encoder → encoders\|/)
  // `id: null` drops an inherited stage; its dependants must then be rewired.
  const dropped = writePipeline(
    dir,
    "dropped.yaml",
    `pipeline: dropped
extends: base.yaml
stages:
  pick: null
  all: null
  train: null
  again: { uses: fake-train, in: { tuples: tuples.tuples } }
`
  )
  const d = await cli(["run", dropped, "--json"], dir)
  assert.equal(d.code, 0, d.stderr)
  assert.deepEqual(jsonLines(d.stdout).find((e) => e.type === "run-start")!.stages, ["data", "tuples", "again"])
  writePipeline(dir, "dropped.yaml", readFileSync(dropped, "utf8").replace("  all: null\n", ""))
  const orphan = await cli(["plan", dropped], dir)
  assert.equal(orphan.code, 2)
  assert.match(orphan.stderr, /unknown stage `train` in reference `train\.encoder`/)
})

test("plug-in loading: the example package by name, and an external file in the key", async () => {
  const dir = tempDir()
  const hello = writePipeline(
    dir,
    "hello.yaml",
    `pipeline: hello\nplugins: [tomoprior-plugin-hello]\nstages:\n  greet: { uses: hello, with: { name: "<you>", times: 2 } }\n`
  )
  const r = await cli(["run", hello, "--json"], dir)
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const out = jsonLines(r.stdout).find((e) => e.type === "stage-done")!.outputs.report
  assert.match(readFileSync(join(out, "report.html"), "utf8"), /Hello, &#60;you&#62;!/)

  writeFileSync(join(dir, "input.bin"), "one")
  const ext = writePipeline(
    dir,
    "ext.yaml",
    `pipeline: ext\nplugins: ["$FAKE"]\nstages:\n  copy: { uses: fake-external, with: { path: ${JSON.stringify(join(dir, "input.bin"))} } }\n`
  )
  assert.equal((await cli(["run", ext], dir)).code, 0)
  writeFileSync(join(dir, "input.bin"), "two")
  const plan = await cli(["plan", ext, "--json"], dir)
  assert.deepEqual(jsonLines(plan.stdout)[0].reasons, ["file input.bin changed"])
})

test("gc --dry-run reports the bytes of unreferenced entries; gc deletes exactly those", async () => {
  const dir = tempDir()
  const file = writePipeline(
    dir,
    "g.yaml",
    `pipeline: g\nplugins: ["$FAKE"]\nstages:\n  data: { uses: fake-source, with: { files: 2, bytes: 1000 } }\n`
  )
  assert.equal((await cli(["run", file], dir)).code, 0)
  writePipeline(
    dir,
    "g.yaml",
    `pipeline: g\nplugins: ["$FAKE"]\nstages:\n  data: { uses: fake-source, with: { files: 2, bytes: 1000, seed: 2 } }\n`
  )
  assert.equal((await cli(["run", file], dir)).code, 0)
  const before = await verifyStore(join(dir, ".tomoprior"))
  assert.equal(before.size, 1)
  const dry = await cli(["gc", "--dry-run"], dir)
  assert.equal(dry.code, 0)
  // The seed-1 artifact: 2 files × 1000 bytes + its manifest; plus its run record.
  const manifestBytes = dry.stdout.match(/would delete {2}artifacts\/[0-9a-f]+ {2}([\d.]+) KiB/)
  assert.ok(manifestBytes, dry.stdout)
  assert.match(dry.stdout, /would delete {2}runs\/[0-9a-f]+\.json/)
  const bytes = Number(/would free .* \((\d+) bytes\) in 2 entries/.exec(dry.stdout)![1])
  assert.ok(bytes > 2000 && bytes < 4000, dry.stdout)
  assert.equal((await cli(["plan", file, "--json"], dir)).stdout.includes('"cached"'), true)
  const real = await cli(["gc"], dir)
  assert.match(real.stdout, new RegExp(`freed .* \\(${bytes} bytes\\)`))
  const plan = await cli(["plan", file, "--json"], dir)
  assert.equal(jsonLines(plan.stdout)[0].status, "cached")
})

test("compute settings reach stages: pipeline `compute:`, overridden by TOMOPRIOR_BACKEND, overridden by --backend", async () => {
  const dir = tempDir()
  const file = writePipeline(
    dir,
    "c.yaml",
    `pipeline: c\nplugins: ["$FAKE"]\ncompute: { backend: wasm, threads: 1 }\nstages:\n  c: { uses: fake-compute }\n`
  )
  const seen = async (args: Array<string>, env: Record<string, string> = {}) => {
    const r = await cli(["run", file, "--json", "--force", "c", ...args], dir, env)
    assert.equal(r.code, 0, r.stderr)
    const out = jsonLines(r.stdout).find((e) => e.type === "stage-done")!.outputs.report
    return JSON.parse(readFileSync(join(out, "index.json"), "utf8"))
  }
  assert.deepEqual(await seen([]), { backend: "wasm", threads: 1 })
  assert.deepEqual(await seen([], { TOMOPRIOR_BACKEND: "cpu" }), { backend: "cpu", threads: 1 })
  assert.deepEqual(await seen(["--backend", "tensorflow"], { TOMOPRIOR_BACKEND: "cpu" }), { backend: "tensorflow", threads: 1 })
  assert.equal((await cli(["run", file, "--backend", "cuda"], dir)).code, 2)
})

test("gc keeps a store's results when another store's run rewrote the shared lock file, and frees them when the lock file is gone", async () => {
  const dir = tempDir()
  const file = writePipeline(dir, "g.yaml", `pipeline: g\nplugins: ["$FAKE"]\nstages:\n  data: { uses: fake-source }\n`)
  assert.equal((await cli(["run", file], dir)).code, 0)
  writePipeline(dir, "g.yaml", `pipeline: g\nplugins: ["$FAKE"]\nstages:\n  data: { uses: fake-source, with: { seed: 5 } }\n`)
  assert.equal((await cli(["run", file, "--store", join(dir, "other")], dir)).code, 0)
  const kept = await cli(["gc", "--dry-run"], dir)
  assert.match(kept.stdout, /would free 0 B \(0 bytes\) in 0 entries/)
  rmSync(join(dir, "g.lock.json"))
  const freed = await cli(["gc"], dir)
  assert.match(freed.stdout, /deleted {2}artifacts\/[0-9a-f]+/)
  assert.match(freed.stdout, /deleted {2}runs\/[0-9a-f]+\.json/)
})

test("two stages with the same key in one pipeline run once; the other is served from the store", async () => {
  const dir = tempDir()
  const file = writePipeline(
    dir,
    "twins.yaml",
    `pipeline: twins\nplugins: ["$FAKE"]\nstages:\n  a: { uses: fake-source, with: { delayMs: 20 } }\n  b: { uses: fake-source, with: { delayMs: 20 } }\n`
  )
  const r = await cli(["run", file, "--json"], dir)
  assert.equal(r.code, 0, r.stderr)
  assert.equal(stagesWith(r.stdout, "stage-done").length, 1)
  assert.equal(stagesWith(r.stdout, "stage-cached").length, 1)
})
