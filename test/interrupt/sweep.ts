// The expensive SIGINT sweep (not part of the test suite): a small training pipeline interrupted at
// random moments after chosen events, once or twice, with a check of the store after each run.
//   node --import tsx test/interrupt/sweep.ts [trials=40] [seed=1]
// Prints one JSON line per trial and a summary per moment; exits 1 if any run misbehaved.
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { CLEAN_INTERRUPT, processesMentioning, runCli, tempDir, writePipeline, type RunEvent, type RunResult } from "./testing.ts"

const PIPELINE = `pipeline: interrupt-sweep
stages:
  data: { uses: ingest, with: { source: "phantom:torso", volumes: 4, size: 32, slices: 32, seed: 0 } }
  norm: { uses: normalize, in: { volumes: data.volumes }, with: { window: [-1000, 400] } }
  tuples: { uses: tuple-sample, in: { volumes: norm.volumes }, with: { groupSize: 8, groupsPerEpoch: 8, epochs: 2, validation: 1, seed: 1 } }
  pretrain:
    uses: pretrain-sorting
    in: { tuples: tuples.tuples }
    with: { inputSize: 32, width: 0.25, steps: 30, checkpointEvery: 3, validationSlices: 8 }
  ft:
    uses: finetune
    in: { encoder: pretrain.encoder, volumes: norm.volumes }
    with: { steps: 20, heldOut: 1, logEvery: 2 }
    matrix: { seed: [1, 2] }
  evaluate:
    uses: evaluate
    in: { segmenters: [ft.segmenter], volumes: norm.volumes }
`

/** Moments: an event, then a random wait up to `spreadMs` (worker start-up takes seconds, a step much less). */
const MOMENTS: ReadonlyArray<{ readonly name: string; readonly on: (e: RunEvent) => boolean; readonly spreadMs: number }> = [
  { name: "pretrain start-up", on: (e) => e.type === "stage-start" && e.stage === "pretrain", spreadMs: 8000 },
  { name: "pretrain steps", on: (e) => e.type === "stage-progress" && e.stage === "pretrain", spreadMs: 1500 },
  { name: "pretrain checkpoint", on: (e) => e.type === "stage-progress" && e.stage === "pretrain" && e.done % 3 === 0, spreadMs: 30 },
  { name: "between stages", on: (e) => e.type === "stage-done" && e.stage === "pretrain", spreadMs: 200 },
  { name: "finetune start-up", on: (e) => e.type === "stage-start" && e.uses === "finetune", spreadMs: 8000 },
  { name: "finetune steps", on: (e) => e.type === "stage-progress" && String(e.stage).startsWith("ft"), spreadMs: 1500 },
  { name: "evaluate", on: (e) => e.type === "stage-start" && e.stage === "evaluate", spreadMs: 500 }
]

const trials = Number(process.argv[2] ?? 40)
let seed = Number(process.argv[3] ?? 1)
const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32

const dir = tempDir()
const store = join(dir, "store")
const file = writePipeline(dir, PIPELINE)
// Every trial retrains (resuming from checkpoints the interrupted ones left), so every moment recurs.
const force = ["--force", "pretrain", "--force", "ft", "--force", "evaluate"]

type Verdict = "clean" | "forced" | "finished first" | "BAD"
const problems = (r: RunResult, twice: boolean): string[] => {
  const p: string[] = []
  if (r.killed) p.push("hung: killed after the bound")
  if (r.code !== 130) p.push(`exit ${r.code} (signal ${r.signal})`)
  if (/unexpected error|error:/.test(r.stderr)) p.push("error message")
  if (!r.stderr.includes(CLEAN_INTERRUPT) && !(twice && r.stderr.includes("interrupted again"))) p.push("no interrupt message")
  if (processesMentioning(store).length > 0) p.push("processes left")
  if (existsSync(join(store, "tmp")) && readdirSync(join(store, "tmp")).length > 0 && !twice) p.push("temp outputs left")
  if (existsSync(join(store, "locks", "run.lease")) && !twice) p.push("lease left")
  return p
}

const rows: Array<{ moment: string; verdict: Verdict; exitMs?: number }> = []
for (let i = 0; i < trials; i++) {
  const moment = MOMENTS[Math.floor(random() * MOMENTS.length)]
  const delayMs = Math.floor(random() * moment.spreadMs)
  const twice = random() < 0.15
  const r = await runCli(file, store, { interrupt: { on: moment.on, delayMs, twice }, args: force })
  const found = r.trigger === undefined ? (r.code === 0 ? [] : [`exit ${r.code} without a signal`]) : problems(r, twice)
  const verdict: Verdict =
    found.length > 0 ? "BAD" : r.trigger === undefined ? "finished first" : r.stderr.includes("interrupted again") ? "forced" : "clean"
  rows.push({ moment: moment.name, verdict, exitMs: r.exitMs })
  console.log(
    JSON.stringify({
      trial: i,
      moment: moment.name,
      delayMs,
      twice,
      verdict,
      exitMs: r.exitMs,
      code: r.code,
      problems: found,
      stderr: r.stderr.trim().slice(0, 300)
    })
  )
}

const final = await runCli(file, store)
console.log(JSON.stringify({ final: final.code, stderr: final.stderr.trim().slice(0, 300) }))
console.log("\nmoment                 trials  clean  forced  finished-first  BAD  exit ms (median / max)")
for (const m of MOMENTS) {
  const mine = rows.filter((r) => r.moment === m.name)
  const ms = mine.flatMap((r) => (r.exitMs === undefined ? [] : [r.exitMs])).sort((a, b) => a - b)
  const count = (v: Verdict) => mine.filter((r) => r.verdict === v).length
  const times = ms.length === 0 ? "-" : `${ms[Math.floor(ms.length / 2)]} / ${ms.at(-1)}`
  console.log(
    `${m.name.padEnd(22)} ${String(mine.length).padStart(6)} ${String(count("clean")).padStart(6)} ` +
      `${String(count("forced")).padStart(7)} ${String(count("finished first")).padStart(15)} ${String(count("BAD")).padStart(4)}  ${times}`
  )
}
process.exitCode = rows.some((r) => r.verdict === "BAD") || final.code !== 0 ? 1 : 0
