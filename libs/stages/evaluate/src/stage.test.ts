import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect, Schema } from "effect"
import { PNG } from "pngjs"
import { computeLayer } from "@tomoprior/compute"
import { constantSegmenter } from "@tomoprior/compute/testing"
import { MetricsIndex } from "@tomoprior/core"
import { checkParamsTable, runStageForTest, SIZE, tinyVolumeSet } from "@tomoprior/testkit"
import { openVolume, readVolumeSet } from "@tomoprior/volume"
import { EvaluateParams } from "./params.ts"
import { evaluateStage } from "./stage.ts"

/** Pixels per class over the given slices of a stored volume, counted straight from its label map. */
const classCounts = (dir: string, slices: ReadonlyArray<number>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const v = yield* openVolume(dir)
      const counts = new Map<number, number>()
      for (const z of slices) for (const l of v.readLabelSlice(z)) counts.set(l, (counts.get(l) ?? 0) + 1)
      return counts
    })
  )

test("a segmenter that says class 1 everywhere scores what the label maps alone predict, on both splits", async () => {
  const volumes = await Effect.runPromise(tinyVolumeSet(3))
  const segmenter = await Effect.runPromise(
    constantSegmenter(1, SIZE, {
      pretraining: "none",
      numClasses: 3,
      labelNames: { "0": "background", "1": "disc", "2": "bar" },
      fraction: 0.5,
      everyK: null,
      seed: 4,
      trainingSlices: [{ volume: "v0", slices: [0, 1, 2] }],
      trainVolumes: ["v0", "v1"],
      heldOutVolumes: ["v2"]
    })
  )
  const run = await Effect.runPromise(
    runStageForTest(evaluateStage, {
      params: { batchSize: 5 },
      inputs: { segmenters: [segmenter], volumes },
      compute: computeLayer({ backend: "wasm", threads: 1 })
    })
  )
  const dir = run.outputs.metrics.dir
  const index = Schema.decodeUnknownSync(Schema.fromJsonString(MetricsIndex))(readFileSync(join(dir, "index.json"), "utf8"))

  // The reference: every pixel is predicted 1, so IoU(1) = n1 / N, Dice(1) = 2·n1 / (N + n1), other classes 0.
  const set = await Effect.runPromise(readVolumeSet(volumes.dir))
  const dirOf = (id: string) => set.volumes.find((v) => v.entry.id === id)!.dir
  const depth = (id: string) => set.volumes.find((v) => v.entry.id === id)!.entry.dims[0]
  const all = (id: string) => Array.from({ length: depth(id) }, (_, z) => z)
  const expected = async (parts: ReadonlyArray<readonly [string, ReadonlyArray<number>]>) => {
    const total = new Map<number, number>()
    for (const [id, zs] of parts)
      for (const [l, n] of await Effect.runPromise(classCounts(dirOf(id), zs))) total.set(l, (total.get(l) ?? 0) + n)
    const pixels = [...total.values()].reduce((a, b) => a + b, 0)
    const n1 = total.get(1) ?? 0
    return { iou: n1 / pixels, dice: (2 * n1) / (pixels + n1) }
  }
  const splits = {
    interpolation: await expected([
      ["v0", all("v0").slice(3)],
      ["v1", all("v1")]
    ]),
    extrapolation: await expected([["v2", all("v2")]])
  }
  for (const split of ["interpolation", "extrapolation"] as const) {
    const row = (classId: number) => index.rows.find((r) => r.split === split && r.classId === classId)!
    assert.ok(Math.abs(row(1).iou - splits[split].iou) < 1e-12, `${split} IoU ${row(1).iou} vs ${splits[split].iou}`)
    assert.ok(Math.abs(row(1).dice - splits[split].dice) < 1e-12)
    assert.deepEqual([row(0).iou, row(2).iou], [0, 0])
    assert.deepEqual([row(1).fraction, row(1).everyK, row(1).seed, row(1).className], [0.5, null, 4, "disc"])
  }
  // the CSV holds the same rows; one example per split, three panels of the slice's size
  assert.equal(readFileSync(join(dir, index.csv), "utf8").trim().split("\n").length, 1 + index.rows.length)
  assert.deepEqual(index.examples!.map((e) => e.split).sort(), ["extrapolation", "interpolation"])
  for (const e of index.examples!) {
    const png = PNG.sync.read(readFileSync(join(dir, e.png)))
    assert.deepEqual([png.width, png.height], [3 * SIZE, SIZE])
  }
  assert.deepEqual(run.progress.at(-1), { done: 1, total: 1, unit: "segmenters", message: "none 50 % seed 4" })
})

test("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), EvaluateParams)
})

test("two pre-trainings on the same seed give their paired difference per held-out volume, from the label maps alone", async () => {
  const volumes = await Effect.runPromise(tinyVolumeSet(4))
  const common = {
    numClasses: 3,
    labelNames: { "0": "background", "1": "disc", "2": "bar" },
    fraction: 0.5,
    everyK: null,
    seed: 4,
    trainingSlices: [{ volume: "v0", slices: [0] }],
    trainVolumes: ["v0", "v1"],
    heldOutVolumes: ["v2", "v3"]
  }
  const ones = await Effect.runPromise(constantSegmenter(1, SIZE, { ...common, pretraining: "sorting" }))
  const twos = await Effect.runPromise(constantSegmenter(2, SIZE, { ...common, pretraining: "none" }))
  const run = await Effect.runPromise(
    runStageForTest(evaluateStage, {
      params: { examples: false },
      inputs: { segmenters: [ones, twos], volumes },
      compute: computeLayer({ backend: "wasm", threads: 1 })
    })
  )
  const index = Schema.decodeUnknownSync(Schema.fromJsonString(MetricsIndex))(
    readFileSync(join(run.outputs.metrics.dir, "index.json"), "utf8")
  )
  // Reference per volume: predicting class c everywhere scores IoU(c) = n_c / N, 0 for the other
  // foreground class if the volume has it (else it is not scored); the foreground mean averages those.
  const set = await Effect.runPromise(readVolumeSet(volumes.dir))
  const foreground = async (id: string, c: number) => {
    const v = set.volumes.find((x) => x.entry.id === id)!
    const counts = await Effect.runPromise(
      classCounts(
        v.dir,
        Array.from({ length: v.entry.dims[0] }, (_, z) => z)
      )
    )
    const pixels = [...counts.values()].reduce((a, b) => a + b, 0)
    const other = c === 1 ? 2 : 1
    const scored = [(counts.get(c) ?? 0) / pixels, ...((counts.get(other) ?? 0) > 0 ? [0] : [])]
    return scored.reduce((a, b) => a + b, 0) / scored.length
  }
  const diffs = await Promise.all(["v2", "v3"].map(async (v) => (await foreground(v, 1)) - (await foreground(v, 2))))
  const d = index.differences!.find((x) => x.split === "extrapolation")!
  assert.deepEqual([d.a, d.b, d.seeds, d.volumes, d.fraction], ["sorting", "none", 1, 2, 0.5])
  assert.ok(Math.abs(d.mean - (diffs[0] + diffs[1]) / 2) < 1e-12, `${d.mean} vs ${diffs}`)
  // one seed: the interval is over the two volumes alone, between their differences
  assert.ok(Math.abs(d.low - Math.min(...diffs)) < 1e-12 && Math.abs(d.high - Math.max(...diffs)) < 1e-12, `${d.low} ${d.high} ${diffs}`)
  assert.equal(index.volumeRows!.filter((r) => r.split === "extrapolation" && r.pretraining === "sorting").length > 0, true)
  assert.ok(
    run.logs.some((l) => l.startsWith("held-out, 50 %: sorting − none: ")),
    run.logs.join("\n")
  )
})
