import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import {
  CLEAN_INTERRUPT,
  EXIT_BOUND_MS,
  REPO,
  logsOf,
  processesMentioning,
  runCli,
  stagesWith,
  tempDir,
  writePipeline,
  type RunResult
} from "./testing.ts"

// Tiny sizes: every stage runs, both training stages start their worker threads and checkpoint.
const TRAINING = `pipeline: interrupt-training
stages:
  data: { uses: ingest, with: { source: "phantom:torso", volumes: 4, size: 32, slices: 24, seed: 0 } }
  norm: { uses: normalize, in: { volumes: data.volumes }, with: { window: [-1000, 400] } }
  tuples: { uses: tuple-sample, in: { volumes: norm.volumes }, with: { groupSize: 8, groupsPerEpoch: 4, epochs: 2, validation: 1, seed: 1 } }
  pretrain:
    uses: pretrain-sorting
    in: { tuples: tuples.tuples }
    with: { inputSize: 32, width: 0.25, steps: 12, checkpointEvery: 2, validationSlices: 4 }
  finetune:
    uses: finetune
    in: { encoder: pretrain.encoder, volumes: norm.volumes }
    with: { steps: 16, heldOut: 1, logEvery: 2 }
`

/** What every interrupted run must show: exit 130 by itself within the bound, the clean message, a store left tidy. */
const assertCleanInterrupt = (r: RunResult, store: string, where: string) => {
  const context = `${where}: exit ${r.code} (signal ${r.signal}) ${r.exitMs} ms after SIGINT on ${JSON.stringify(r.trigger)}\n${r.stderr}`
  assert.ok(r.trigger !== undefined, `${where}: the run ended before the moment to interrupt it\n${r.stderr}`)
  assert.equal(r.killed, false, `${where}: still running ${EXIT_BOUND_MS} ms after SIGINT (hung)`)
  assert.equal(r.code, 130, context)
  assert.ok(r.stderr.includes(CLEAN_INTERRUPT), context)
  assert.doesNotMatch(r.stderr, /unexpected error|error:/, context)
  // Worker threads live inside the CLI's process, which can only end by itself once they are gone;
  // nothing else the run started may outlive it either.
  assert.deepEqual(processesMentioning(store), [], `${where}: processes left behind`)
  assert.deepEqual(existsSync(join(store, "tmp")) ? readdirSync(join(store, "tmp")) : [], [], `${where}: temporary outputs left`)
  assert.equal(existsSync(join(store, "locks", "run.lease")), false, `${where}: lease not released`)
}

test(
  "Ctrl-C during worker start-up, mid-training after a checkpoint and mid-fine-tuning: exit 130 cleanly every time; the rerun resumes and completes",
  { timeout: 600_000 },
  async () => {
    const dir = tempDir()
    const store = join(dir, "store")
    const file = writePipeline(dir, TRAINING)

    // Impatient user: two signals at once while the pre-training workers start. Either the clean
    // interrupt wins or the second signal forces the exit; both leave a store the next run can use.
    const impatient = await runCli(file, store, {
      interrupt: { on: (e) => e.type === "stage-start" && e.stage === "pretrain", twice: true }
    })
    assert.equal(impatient.killed, false, "hung after two SIGINTs")
    assert.equal(impatient.code, 130, impatient.stderr)
    assert.match(impatient.stderr, /interrupted: temporary outputs removed|interrupted again: exiting without cleaning up/)
    assert.doesNotMatch(impatient.stderr, /unexpected error/)
    assert.deepEqual(processesMentioning(store), [])

    // Mid-training, once a checkpoint exists (one every 2 steps), while finetune waits for pretrain.
    const training = await runCli(file, store, {
      interrupt: { on: (e) => e.type === "stage-progress" && e.stage === "pretrain" && e.done >= 3 && e.done < e.total }
    })
    assertCleanInterrupt(training, store, "mid-training")
    assert.deepEqual(stagesWith(training, "stage-cached").sort(), ["data", "norm", "tuples"])
    const interruptedAt = training.trigger!.done as number

    // The rerun resumes pre-training from its checkpoint; Ctrl-C again during fine-tuning's steps.
    const finetuning = await runCli(file, store, {
      interrupt: { on: (e) => e.type === "stage-progress" && e.stage === "finetune" && e.done < e.total }
    })
    assertCleanInterrupt(finetuning, store, "mid-fine-tuning")
    const resumed = logsOf(finetuning, "pretrain").find((m) => m.startsWith("resuming from step"))
    assert.ok(resumed !== undefined, `pre-training did not resume: ${logsOf(finetuning, "pretrain").join(" | ")}`)
    const resumedAt = Number(resumed.replace("resuming from step ", ""))
    // The checkpoint before the signal (every 2 steps) at least; steps may finish before the signal lands.
    assert.ok(
      resumedAt >= Math.max(2, interruptedAt - 2) && resumedAt < 12,
      `resumed at step ${resumedAt}, interrupted after step ${interruptedAt}`
    )
    assert.deepEqual(stagesWith(finetuning, "stage-done"), ["pretrain"])

    const final = await runCli(file, store)
    assert.equal(final.code, 0, final.stderr)
    assert.deepEqual(stagesWith(final, "stage-cached").sort(), ["data", "norm", "pretrain", "tuples"])
    assert.deepEqual(stagesWith(final, "stage-done"), ["finetune"])
    assert.deepEqual(processesMentioning(store), [])
  }
)

/** The runner tests' fake stages: `fake-gate` runs until a file exists, holding the store meanwhile. */
const FAKE_STAGES = join(REPO, "test/runner/fixtures/fake-stages")

// Stages that wait for an interrupted one (norm for data, tuples for norm) are woken by its end
// (libs/runner/src/execute.ts, `done`); they must stop too, not read an outcome it never recorded.
// `data` holds until the test opens its gate, so the signal lands while it runs and the others wait
// however late a loaded machine delivers it (a running stage can finish before a signal is handled).
const CHAIN = (gate: string) => `pipeline: interrupt-chain
plugins: [${JSON.stringify(FAKE_STAGES)}]
stages:
  data: { uses: fake-source, with: { files: 4, bytes: 4096, open: ${JSON.stringify(gate)} } }
  norm: { uses: fake-add, in: { volumes: data.volumes }, with: { add: 3 } }
  tuples: { uses: fake-tuples, in: { volumes: norm.volumes } }
`

test("Ctrl-C while later stages wait for the running one: exit 130 cleanly, and the rerun completes", async () => {
  const dir = tempDir()
  const store = join(dir, "store")
  const gate = join(dir, "gate-open")
  const file = writePipeline(dir, CHAIN(gate))
  const r = await runCli(file, store, { interrupt: { on: (e) => e.type === "stage-start" && e.stage === "data" } })
  assertCleanInterrupt(r, store, "while data runs")
  const stageEvents = r.events.filter((e) => String(e.type).startsWith("stage-")).map((e) => `${e.type} ${e.stage}`)
  assert.deepEqual(stageEvents, ["stage-start data"], "interrupted while data ran and norm and tuples waited for it")
  writeFileSync(gate, "")
  const final = await runCli(file, store)
  assert.equal(final.code, 0, final.stderr)
  assert.deepEqual(stagesWith(final, "stage-done"), ["data", "norm", "tuples"])
})

test("Ctrl-C while waiting for another run's lease (--wait): exit 130 at once, the holder unaffected", async () => {
  const dir = tempDir()
  const store = join(dir, "store")
  const gate = join(dir, "gate-open")
  const file = writePipeline(
    dir,
    `pipeline: held\nplugins: [${JSON.stringify(FAKE_STAGES)}]\nstages:\n  hold: { uses: fake-gate, with: { open: ${JSON.stringify(gate)} } }\n`
  )
  let holding: () => void = () => undefined
  const held = new Promise<void>((resolve) => (holding = resolve))
  const holder = runCli(file, store, { onEvent: (e) => e.type === "stage-start" && holding() })
  await held
  // Waits longer than the exit bound: only an interruptible wait passes.
  const waiter = await runCli(file, store, {
    args: ["--wait", String((2 * EXIT_BOUND_MS) / 1000)],
    interrupt: { on: (e) => e.type === "notice" && String(e.message).startsWith("waiting up to") }
  })
  writeFileSync(gate, "")
  const h = await holder
  assert.equal(waiter.killed, false, `still waiting ${EXIT_BOUND_MS} ms after SIGINT`)
  assert.equal(waiter.code, 130, waiter.stderr)
  assert.ok(waiter.stderr.includes(CLEAN_INTERRUPT), waiter.stderr)
  assert.equal(h.code, 0, h.stderr)
})
