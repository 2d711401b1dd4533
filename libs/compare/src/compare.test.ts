import { test } from "node:test"
import assert from "node:assert/strict"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import type { EncoderIndex, MetricsIndex } from "@tomoprior/core"
import type { LockEntry, LockFile, RootCopy } from "@tomoprior/runner"
import { artifactDir, storeLayout } from "@tomoprior/runner"
import { comparisonMarkdown, comparisonText } from "./render.ts"
import { selectRuns } from "./runs.ts"
import { compareRuns } from "./table.ts"

const dir = mkdtempSync(join(tmpdir(), "tomoprior-compare-"))
const store = storeLayout(join(dir, ".tomoprior"))

/** Writes an artifact the way the store holds one: a directory with manifest.json and index.json. */
const artifact = (hash: string, kind: string, index: unknown): string => {
  const at = artifactDir(store, hash)
  mkdirSync(at, { recursive: true })
  const provenance = { pipeline: "p", stage: "s", uses: "u", key: "k", startedAt: "", endedAt: "", tool: "test", extra: {} }
  writeFileSync(join(at, "manifest.json"), JSON.stringify({ kind, schemaVersion: 1, hash, files: [], provenance }))
  writeFileSync(join(at, "index.json"), JSON.stringify(index))
  return hash
}

const encoder = (hash: string, final: Record<string, number>) =>
  artifact(hash, "Encoder", {
    kind: "Encoder",
    method: "sorting",
    architecture: "ref-resnet",
    width: 1,
    inputSize: 32,
    model: "model",
    steps: 10,
    history: [],
    final,
    settings: {}
  } satisfies EncoderIndex)

const summaryRow = (pretraining: string, fraction: number, iouMean: number, iouStd: number) => ({
  pretraining,
  fraction,
  everyK: null,
  split: "extrapolation" as const,
  classId: null,
  className: "foreground mean",
  seeds: 3,
  iouMean,
  iouStd,
  diceMean: 0,
  diceStd: 0
})

const metrics = (hash: string, none: number, sorting: number) =>
  artifact(hash, "Metrics", {
    kind: "Metrics",
    rows: [],
    summary: [summaryRow("none", 0.01, none, 0.05), summaryRow("sorting", 0.01, sorting, 0.02)],
    differences: [
      {
        a: "sorting",
        b: "none",
        fraction: 0.01,
        everyK: null,
        split: "extrapolation",
        seeds: 3,
        volumes: 2,
        mean: sorting - none,
        low: -0.01,
        high: 0.11,
        level: 0.95,
        excludesZero: false
      }
    ],
    csv: "metrics.csv"
  } satisfies MetricsIndex)

const entry = (uses: string, params: unknown, outputs: Record<string, string>): LockEntry => ({
  uses,
  version: "1",
  code: "c",
  params,
  inputs: {},
  external: {},
  key: `key-${JSON.stringify(outputs)}`,
  outputs
})

const lockFile = join(dir, "study.lock.json")
const lock: LockFile = {
  pipeline: "study",
  runId: "run-a",
  stages: {
    sorting: entry(
      "pretrain-sorting",
      { margin: 0.2, steps: 10 },
      { encoder: encoder("e1", { spearman: 0.9, pairsCorrect: 0.85, slicesPerSecond: 99 }) }
    ),
    "ft[seed=1]": entry("finetune", { seed: 1, steps: 5 }, {}),
    "ft[seed=2]": entry("finetune", { seed: 2, steps: 5 }, {}),
    evaluate: entry("evaluate", {}, { metrics: metrics("m1", 0.3, 0.35) })
  },
  variants: {
    "sorting.margin=0.5": {
      set: { "sorting.margin": 0.5 },
      runId: "run-b",
      stages: {
        sorting: entry("pretrain-sorting", { margin: 0.5, steps: 10 }, { encoder: encoder("e2", { spearman: 0.95, pairsCorrect: 0.9 }) }),
        "ft[seed=1]": entry("finetune", { seed: 1, steps: 5 }, {}),
        "ft[seed=2]": entry("finetune", { seed: 2, steps: 5 }, {}),
        evaluate: entry("evaluate", {}, { metrics: "gone" })
      }
    }
  }
}
writeFileSync(lockFile, JSON.stringify(lock))
writeFileSync(join(dir, "study.yaml"), "pipeline: study\n")
const copies: Array<RootCopy> = [{ lockFile, lock }]

const compare = (targets: Array<string>, options: { set?: Array<string>; all?: boolean } = {}) =>
  Effect.runPromise(Effect.flatMap(selectRuns({ targets, cwd: dir, ...options }, copies), (runs) => compareRuns(runs, store)))

test("a pipeline file selects every run its lock file records; changed params and headline metrics per run", async () => {
  const c = await compare(["study.yaml"])
  assert.deepEqual(
    c.runs.map((r) => [r.label, r.runId]),
    [
      ["study", "run-a"],
      ["sorting.margin=0.5", "run-b"]
    ]
  )
  // The matrix dimension (seed) is not a changed param; steps is the same everywhere.
  assert.deepEqual(c.params, [{ name: "sorting.margin", values: ["0.2", "0.5"] }])
  const m = Object.fromEntries(c.metrics.map((x) => [x.name, x]))
  assert.deepEqual(Object.keys(m), [
    "sorting spearman",
    "sorting pairsCorrect",
    "evaluate IoU none 1 %",
    "evaluate IoU sorting 1 %",
    "evaluate sorting − none 1 %"
  ])
  assert.deepEqual(m["sorting spearman"].values, [{ value: 0.9 }, { value: 0.95 }])
  assert.ok(Math.abs(m["sorting spearman"].difference! - 0.05) < 1e-12)
  assert.deepEqual(m["evaluate IoU sorting 1 %"].values, [{ value: 0.35, std: 0.02, n: 3 }, null])
  assert.equal(m["evaluate IoU sorting 1 %"].difference, undefined)
  assert.deepEqual(c.missing, ["evaluate"])

  const text = comparisonText(c)
  assert.match(text, /^ +study  sorting\.margin=0\.5 +Δ\n/)
  assert.match(text, /\nsorting\.margin +0\.2 +0\.5\n/)
  assert.match(text, /\nsorting spearman +0\.900 +0\.950 +\+0\.050\n/)
  assert.match(text, /\nevaluate IoU sorting 1 % ×100 +35\.0 ± 2\.0 +– *\n/)
  assert.match(text, /Δ = sorting\.margin=0\.5 − study/)
  assert.match(text, /\nevaluate sorting − none 1 % ×100 +\+5\.0 \[-1\.0, \+11\.0\] +– *\n/)
  assert.match(text, /not in this store .*: evaluate/)
  assert.match(
    comparisonMarkdown(c),
    /^\| {2}\| study \| sorting\.margin=0\.5 \| Δ \|\n\|---\|---:\|---:\|---:\|\n\| sorting\.margin \| 0\.2 \| 0\.5 \| {2}\|\n/
  )
})

test("runs are selected by run id, by --set variant names, or all at once; unknown ones are refused", async () => {
  assert.deepEqual(
    (await compare(["run-b"])).runs.map((r) => r.label),
    ["sorting.margin=0.5"]
  )
  assert.deepEqual(
    (await compare(["study.lock.json"], { set: ["sorting.margin=0.5"] })).runs.map((r) => r.label),
    ["sorting.margin=0.5"]
  )
  assert.equal((await compare([], { all: true })).runs.length, 2)
  const refused = async (targets: Array<string>, options: { set?: Array<string> }, message: RegExp) =>
    assert.rejects(compare(targets, options), (e: Error) => message.test(e.message))
  await refused(["run-x"], {}, /no run `run-x` in this store's lock files/)
  await refused(["other.yaml"], {}, /no lock file .*other\.lock\.json: run the pipeline first/)
  await refused(["study.yaml"], { set: ["sorting.margin=0.7"] }, /no variant `sorting\.margin=0\.7` recorded/)
  await refused([], {}, /name what to compare/)
})
