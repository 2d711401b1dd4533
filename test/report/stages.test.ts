/**
 * The result stages chained on tiny volumes: finetune (pre-trained and random init) → evaluate →
 * localize → report. Checks what each writes and that they agree with each other.
 */
import assert from "node:assert/strict"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect, Schema } from "effect"
import { computeLayer } from "@tomoprior/compute"
import { LocalizationIndex, MetricsIndex, SegmenterIndex, type StageDef } from "@tomoprior/core"
import { evaluateStage } from "@tomoprior/stage-evaluate"
import { finetuneStage } from "@tomoprior/stage-finetune"
import { localizeStage } from "@tomoprior/stage-localize"
import { reportStage } from "@tomoprior/stage-report"
import { artifactFromDir, runStageForTest, SIZE, tempDir, tinyVolumeSet } from "@tomoprior/testkit"
import { untrainedEncoder } from "@tomoprior/compute/testing"

const compute = computeLayer({ backend: "wasm", threads: 1 })
const readJson = <S extends Schema.Codec<any, any, never, never>>(dir: string, schema: S): S["Type"] =>
  Schema.decodeUnknownSync(schema)(JSON.parse(readFileSync(join(dir, "index.json"), "utf8")))

test("finetune → evaluate → localize → report on tiny volumes", async () => {
  const volumes = await Effect.runPromise(tinyVolumeSet(4))
  const encoder = await Effect.runPromise(untrainedEncoder("sorting", SIZE))
  const run = (stage: StageDef<any, any, any>, params: unknown, inputs: Record<string, unknown>) =>
    Effect.runPromise(runStageForTest(stage, { params, inputs: inputs as never, compute }))

  const pre = await run(
    finetuneStage,
    { fraction: 0.5, seed: 1, steps: 3, batchSize: 4, heldOut: 1, freezeEncoderSteps: 1, logEvery: 1 },
    { encoder, volumes }
  )
  const base = await run(
    finetuneStage,
    { fraction: 0.5, seed: 1, steps: 3, batchSize: 4, heldOut: 1, width: 0.25, logEvery: 1 },
    { volumes }
  )
  const seg = readJson(pre.outputs.segmenter.dir, SegmenterIndex)
  assert.equal(seg.pretraining, "sorting")
  assert.equal(readJson(base.outputs.segmenter.dir, SegmenterIndex).pretraining, "none")
  assert.deepEqual(seg.trainVolumes, ["v0", "v1", "v2"])
  assert.deepEqual(seg.heldOutVolumes, ["v3"])
  assert.equal(seg.numClasses, 3)
  assert.equal(seg.history.length, 3)
  // half of the annotated slices of v0..v2 (the disc and bar span ≈ half of each volume) + 10 % empty
  const trained = seg.trainingSlices.reduce((n, s) => n + s.slices.length, 0)
  assert.ok(trained >= 10 && trained <= 20, `trained on ${trained} slices`)
  assert.ok(existsSync(join(pre.outputs.segmenter.dir, "model", "model.json")))

  const evaluated = await run(evaluateStage, {}, { segmenters: [pre.outputs.segmenter, base.outputs.segmenter], volumes })
  const metrics = readJson(evaluated.outputs.metrics.dir, MetricsIndex)
  assert.deepEqual(new Set(metrics.rows.map((r) => r.split)), new Set(["interpolation", "extrapolation"]))
  assert.deepEqual(new Set(metrics.rows.map((r) => r.pretraining)), new Set(["sorting", "none"]))
  for (const r of metrics.rows) assert.ok(r.iou >= 0 && r.iou <= 1 && r.dice >= r.iou - 1e-12, JSON.stringify(r))
  const csv = readFileSync(join(evaluated.outputs.metrics.dir, "metrics.csv"), "utf8").trim().split("\n")
  assert.equal(csv.length, metrics.rows.length + 1)
  assert.ok(metrics.summary!.some((s) => s.classId === null && s.pretraining === "sorting"))
  assert.equal(metrics.examples!.length, 4) // 2 runs × 2 splits
  for (const e of metrics.examples!) assert.ok(existsSync(join(evaluated.outputs.metrics.dir, e.png)))

  const localized = await run(localizeStage, {}, { encoder, volumes })
  const loc = readJson(localized.outputs.localization.dir, LocalizationIndex)
  assert.deepEqual(
    loc.volumes.map((v) => v.scores.length),
    [18, 21, 24, 27]
  )
  // both labels in all 4 volumes: 2 organs × 12 ordered (reference, query) pairs
  assert.equal(loc.organs.length, 24)
  assert.ok(loc.organs.every((o) => o.truth[0] <= o.truth[1]))

  const simclr = await Effect.runPromise(untrainedEncoder("simclr", SIZE))
  const pc1Run = await run(localizeStage, {}, { encoder: simclr, volumes })
  const pc1 = readJson(pc1Run.outputs.localization.dir, LocalizationIndex)
  assert.equal(pc1.method, "simclr (PC1 of embeddings)")
  assert.equal(pc1.organs.length, 24)

  const report = await run(
    reportStage,
    {},
    {
      encoders: [encoder],
      segmenters: [pre.outputs.segmenter],
      metrics: [evaluated.outputs.metrics],
      localizations: [localized.outputs.localization, pc1Run.outputs.localization]
    }
  )
  const html = readFileSync(join(report.outputs.report.dir, "report.html"), "utf8")
  assert.match(html, /Mean foreground IoU — extrapolation/)
  assert.equal(html.match(/data:image\/png;base64/g)?.length, 4)
  // one localizer table per Localization, and the log's headline is the localize stage's own summary
  assert.equal(html.match(/<table class="localizers">/g)?.length, 2)
  for (const [index, name] of [
    [loc, "sorting"],
    [pc1, "simclr (PC1 of embeddings)"]
  ] as const) {
    const headline = (localizer: string) => index.summary!.find((r) => r.labelId === null && r.localizer === localizer)!.meanIoU.toFixed(3)
    const line = `localization (${name}): aligned ${headline("aligned")} vs proportional-median ${headline("proportional-median")} mean interval IoU`
    assert.ok(report.logs.includes(line), `${line}\n${report.logs.join("\n")}`)
  }
})

test("evaluate names the volumes a segmenter needs that the VolumeSet lacks", async () => {
  const volumes = await Effect.runPromise(tinyVolumeSet(2))
  const dir = tempDir()
  const index: SegmenterIndex = {
    kind: "Segmenter",
    pretraining: "none",
    architecture: "ref-resnet-unet",
    inputSize: 16,
    numClasses: 3,
    labelNames: {},
    model: "model",
    fraction: 1,
    everyK: null,
    seed: 0,
    trainingSlices: [],
    trainVolumes: ["v0"],
    heldOutVolumes: ["elsewhere"],
    history: []
  }
  writeFileSync(join(dir, "index.json"), JSON.stringify(index))
  const exit = await Effect.runPromiseExit(
    runStageForTest(evaluateStage, { inputs: { segmenters: [artifactFromDir("Segmenter", dir)], volumes }, compute })
  )
  assert.equal(exit._tag, "Failure")
  assert.match(String(exit.cause), /InputError[\s\S]*elsewhere/)
})
