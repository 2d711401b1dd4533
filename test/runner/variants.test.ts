import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { cli, jsonLines, stagesWith, tempDir, verifyStore, writePipeline } from "./testing.ts"

const SWEEP = `pipeline: sweep
plugins: ["$FAKE"]
params: { bytes: 400 }
stages:
  data:   { uses: fake-source, with: { files: 2, bytes: "\${params.bytes}" } }
  norm:   { uses: fake-add, in: { volumes: data.volumes }, with: { add: 3 } }
  tuples: { uses: fake-tuples, in: { volumes: norm.volumes } }
  train:  { uses: fake-train, in: { tuples: tuples.tuples }, matrix: { seed: [1, 2] } }
  all:    { uses: fake-collect, in: { encoders: train.encoder } }
`

const setup = () => {
  const dir = tempDir()
  return { dir, file: writePipeline(dir, "sweep.yaml", SWEEP) }
}

const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, "sweep.lock.json"), "utf8"))

test("--set with a comma list runs one cached variant per value, each recorded by name in the lock file", async () => {
  const { dir, file } = setup()
  assert.equal((await cli(["run", file], dir)).code, 0)
  const plan = await cli(["plan", file, "--set", "norm.add=4,5", "--json"], dir)
  assert.equal(plan.code, 0, plan.stderr)
  const why = (variant: string, stage: string) => jsonLines(plan.stdout).find((p) => p.variant === variant && p.stage === stage)?.reasons
  // A variant that never ran is explained as an edit of the pipeline as written.
  assert.deepEqual(why("norm.add=4", "norm"), ["param `add` 3 → 4"])
  assert.deepEqual(why("norm.add=5", "data"), ["cached"])
  assert.deepEqual(why("norm.add=5", "tuples"), ["upstream `norm` will rerun"])

  const sweep = await cli(["run", file, "--set", "norm.add=4,5", "--json"], dir)
  assert.equal(sweep.code, 0, sweep.stderr)
  const events = jsonLines(sweep.stdout)
  assert.deepEqual(
    events.filter((e) => e.type === "run-start").map((e) => e.variant),
    ["norm.add=4", "norm.add=5"]
  )
  assert.equal(new Set(events.filter((e) => e.type === "run-start").map((e) => e.runId)).size, 1)
  // Each variant reruns norm and what depends on it; data is shared with the plain run.
  assert.deepEqual(events.filter((e) => e.type === "stage-start" && e.stage === "norm").length, 2)
  assert.deepEqual(events.filter((e) => e.type === "stage-cached" && e.stage === "data").length, 2)

  const lock = lockOf(dir)
  assert.deepEqual(Object.keys(lock.variants).sort(), ["norm.add=4", "norm.add=5"])
  assert.deepEqual(lock.variants["norm.add=5"].set, { "norm.add": 5 })
  assert.equal(lock.variants["norm.add=5"].stages.norm.params.add, 5)
  assert.equal(lock.stages.norm.params.add, 3, "the plain pipeline's section is untouched")
  assert.notEqual(lock.variants["norm.add=4"].stages.all.outputs.report, lock.variants["norm.add=5"].stages.all.outputs.report)
  assert.equal(lock.variants["norm.add=4"].runId, events[0].runId)

  const again = await cli(["run", file, "--set", "norm.add=4,5", "--json"], dir)
  assert.deepEqual(stagesWith(again.stdout, "stage-start"), [])
  const planned = await cli(["plan", file, "--set", "norm.add=5"], dir)
  assert.match(planned.stdout, /^variant norm\.add=5:\n {2}data +cached\n/)
  assert.match(planned.stdout, / {2}0 of 6 stages would run\n$/)

  // gc keeps every variant's results.
  assert.equal((await cli(["gc"], dir)).code, 0)
  const after = await cli(["run", file, "--set", "norm.add=4,5", "--json"], dir)
  assert.deepEqual(stagesWith(after.stdout, "stage-start"), [])
  await verifyStore(join(dir, ".tomoprior"))
})

test("--set reaches pipeline params, nested keys and matrix dimensions; several flags make every combination", async () => {
  const { dir, file } = setup()
  const r = await cli(["run", file, "--set", "params.bytes=100,200", "--set", "train.seed=7", "--json"], dir)
  assert.equal(r.code, 0, r.stderr)
  const lock = lockOf(dir)
  assert.deepEqual(Object.keys(lock.variants).sort(), ["params.bytes=100 train.seed=7", "params.bytes=200 train.seed=7"])
  const v = lock.variants["params.bytes=200 train.seed=7"]
  assert.equal(v.stages.data.params.bytes, 200)
  // The matrix dimension set from the command line is one run, not a matrix.
  assert.deepEqual(Object.keys(v.stages).sort(), ["all", "data", "norm", "train", "tuples"])
  assert.equal(v.stages.train.params.seed, 7)
  // A list keeps the dimension a matrix, with the values given.
  const list = await cli(["run", file, "--set", "train.seed=[3,4,5]", "--json"], dir)
  assert.equal(list.code, 0, list.stderr)
  assert.deepEqual(
    Object.keys(lockOf(dir).variants["train.seed=[3,4,5]"].stages)
      .filter((k) => k.startsWith("train"))
      .sort(),
    ["train[seed=3]", "train[seed=4]", "train[seed=5]"]
  )
})

test("--set problems exit 2 before anything runs, naming the flag and the YAML place it overrides", async () => {
  const { dir, file } = setup()
  const cases: Array<[Array<string>, RegExp]> = [
    [["nrom.add=4"], /^--set nrom\.add=4: no stage `nrom` in sweep\n {2}hint: did you mean `norm`\?/m],
    [
      ["norm.ad=4"],
      /sweep\.yaml:6:19: --set norm\.ad=4: stage `norm` \(fake-add\) has no param `ad`\n {2}hint: did you mean `norm\.add`\?/
    ],
    [
      ["norm.add=4,abc"],
      /sweep\.yaml:6:73: --set norm\.add=4,abc \(value abc\): invalid params for stage `norm` \(fake-add\): Expected number/
    ],
    [
      ["params.bytes=lots"],
      /sweep\.yaml:5:57: --set params\.bytes=lots \(params\.bytes at 3:18\): invalid params for stage `data` \(fake-source\): Expected number/
    ],
    [["params.byte=1"], /--set params\.byte=1: the pipeline has no param `byte`\n {2}hint: did you mean `params\.bytes`\?/],
    [["train.seed.x=1"], /sweep\.yaml:8:78: --set train\.seed\.x=1: `seed` is a matrix dimension of `train`/],
    [["norm.add"], /--set norm\.add: missing `=`/]
  ]
  for (const [set, message] of cases) {
    const r = await cli(["run", file, ...set.flatMap((s) => ["--set", s])], dir)
    assert.equal(r.code, 2, `${set}: ${r.stdout}${r.stderr}`)
    assert.match(r.stderr, message)
    assert.match(r.stderr, /nothing was run/)
    const p = await cli(["plan", file, ...set.flatMap((s) => ["--set", s])], dir)
    assert.equal(p.code, 2)
  }
  assert.equal(readFileSync(join(dir, "sweep.yaml"), "utf8"), SWEEP.replaceAll("$FAKE", join(import.meta.dirname, "fixtures/fake-stages")))
})
