import { builtinRegistry } from "@tomoprior/catalog"
import { test } from "node:test"
import assert from "node:assert/strict"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Compute, StageFailure } from "@tomoprior/core"
import { Effect, Layer } from "effect"
import { EventSink, Executor, type StageInvocation, Store, resolvePipelineFile, runPipeline } from "@tomoprior/runner"
import { cli, tempDir, verifyStore, writePipeline } from "./testing.ts"

const CHAIN = `pipeline: seam
plugins: ["$FAKE"]
stages:
  data:   { uses: fake-source, with: { files: 2, bytes: 300 } }
  norm:   { uses: fake-add, in: { volumes: data.volumes }, with: { add: 3 } }
  tuples: { uses: fake-tuples, in: { volumes: norm.volumes } }
  train:  { uses: fake-train, in: { tuples: tuples.tuples }, with: { seed: 7 } }
  side:   { uses: fake-xor, in: { volumes: data.volumes } }
`

/** An executor that records every invocation and hands it to the local one, except `refuse`, which it fails. */
const recordingExecutor = (calls: Array<StageInvocation>, refuse?: string) =>
  Layer.effect(
    Executor,
    Effect.gen(function* () {
      const local = yield* Executor
      return Executor.of({
        run: (invocation) => {
          calls.push(invocation)
          return invocation.stageId === refuse
            ? Effect.fail(new StageFailure({ stage: invocation.stageId, reason: "refused by the test executor" }))
            : local.run(invocation)
        }
      })
    })
  ).pipe(Layer.provide(Executor.layerLocal), Layer.provide(Compute.unavailable("the fake stages compute nothing")))

const runWith = async (file: string, store: string, refuse?: string) => {
  const calls: Array<StageInvocation> = []
  const sink = EventSink.collecting()
  const services = recordingExecutor(calls, refuse).pipe(
    Layer.provideMerge(Layer.mergeAll(builtinRegistry, Store.layer(store), sink.layer))
  )
  const summary = await Effect.runPromise(
    Effect.gen(function* () {
      const pipeline = yield* resolvePipelineFile(file)
      return yield* runPipeline(pipeline, { runId: `seam-${calls.length}-${Date.now()}`, waitSeconds: 0, tool: "test" })
    }).pipe(Effect.provide(services))
  )
  const stagesWith = (type: string) => sink.events.flatMap((e) => (e.type === type && "stage" in e ? [e.stage] : [])).sort()
  return { summary, ran: calls.map((c) => c.stageId).sort(), calls, events: sink.events, stagesWith }
}

/** Only JSON-like values: what an executor in another process or on a cluster node could be sent. */
const assertPlainData = (value: unknown, path = "invocation"): void => {
  if (value === null || value === undefined || ["string", "number", "boolean"].includes(typeof value)) return
  assert.ok(Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype, `${path} is not plain data`)
  for (const [k, v] of Object.entries(value as object)) assertPlainData(v, `${path}.${k}`)
}

test("the runner drives any Executor: invocations are plain data, events reach the sink, and the cache behaves as with the CLI", async () => {
  const dir = tempDir()
  const file = writePipeline(dir, "seam.yaml", CHAIN)
  const store = join(dir, "store")

  const first = await runWith(file, store)
  assert.ok(first.summary.ok)
  assert.deepEqual(first.ran, ["data", "norm", "side", "train", "tuples"])
  for (const c of first.calls) assertPlainData(c)
  const byId = Object.fromEntries(first.calls.map((c) => [c.stageId, c]))
  assert.equal(byId.norm.uses, "fake-add")
  assert.deepEqual(byId.norm.params, { add: 3, delayMs: 0 })
  const doneOutputs = Object.fromEntries(first.events.flatMap((e) => (e.type === "stage-done" ? [[e.stage, e.outputs]] : [])))
  assert.equal(
    (byId.norm.inputs.volumes as { dir: string }).dir,
    doneOutputs.data.volumes,
    "an invocation's inputs are its producers' committed artifacts"
  )
  assert.deepEqual(first.stagesWith("stage-done"), ["data", "norm", "side", "train", "tuples"])
  assert.ok(
    first.events.some((e) => e.type === "stage-progress" && e.stage === "data" && e.done === 2 && e.total === 2),
    "stage progress goes through the executor to the sink"
  )
  const trainManifest = JSON.parse(readFileSync(join(doneOutputs.train.encoder, "manifest.json"), "utf8"))
  assert.equal(trainManifest.provenance.extra.seed, 7, "provenance the stage reports comes back from the executor into the manifest")

  // The same pipeline through the CLI on another store gives the same run records and artifacts.
  assert.equal((await cli(["run", file, "--store", join(dir, "cli-store")], dir)).code, 0)
  assert.deepEqual(Object.fromEntries(await verifyStore(store)), Object.fromEntries(await verifyStore(join(dir, "cli-store"))))

  const again = await runWith(file, store)
  assert.deepEqual(again.ran, [], "an unchanged rerun invokes the executor for nothing")
  assert.deepEqual(again.stagesWith("stage-cached"), ["data", "norm", "side", "train", "tuples"])

  // A param change reruns norm and its descendants; an executor failure stops them like a stage failure.
  writePipeline(dir, "seam.yaml", CHAIN.replace("add: 3", "add: 4"))
  const refused = await runWith(file, store, "norm")
  assert.deepEqual(refused.ran, ["norm"])
  assert.deepEqual(refused.stagesWith("stage-cached"), ["data", "side"])
  const failed = refused.events.find((e) => e.type === "stage-failed")
  assert.deepEqual(failed && { ...failed }, {
    type: "stage-failed",
    stage: "norm",
    error: "StageFailure",
    message: "norm: refused by the test executor"
  })
  assert.deepEqual(refused.stagesWith("stage-skipped"), ["train", "tuples"])
  assert.deepEqual([refused.summary.ok, refused.summary.failed, refused.summary.skipped], [false, 1, 2])
  assert.deepEqual(readdirSync(join(store, "tmp")), [])
  await verifyStore(store)

  const resumed = await runWith(file, store)
  assert.deepEqual(resumed.ran, ["norm", "train", "tuples"])
  const plan = await cli(["plan", file, "--store", store, "--json"], dir)
  assert.deepEqual(
    plan.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).status),
    ["cached", "cached", "cached", "cached", "cached"]
  )
})
