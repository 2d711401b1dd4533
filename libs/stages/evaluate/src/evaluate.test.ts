import assert from "node:assert/strict"
import { test } from "node:test"
import { PNG } from "pngjs"
import { Effect, Fiber } from "effect"
import type { SegmenterIndex } from "@tomoprior/core"
import { evaluateSegmenter, type LabeledVolume } from "./evaluate.ts"
import { overlayPng } from "./overlay.ts"

const volume = (id: string, images: number[][], labels: number[][]): LabeledVolume => ({
  id,
  dims: [images.length, 2, 2],
  readSlice: (z) => Float32Array.from(images[z]),
  readLabelSlice: (z) => Uint8Array.from(labels[z])
})

const segmenter: SegmenterIndex = {
  kind: "Segmenter",
  pretraining: "sorting",
  architecture: "unet",
  inputSize: 2,
  numClasses: 2,
  labelNames: { "0": "background", "1": "lesion" },
  model: "model",
  fraction: 0.5,
  everyK: null,
  seed: 7,
  trainingSlices: [{ volume: "a", slices: [1] }],
  trainVolumes: ["a"],
  heldOutVolumes: ["b"],
  history: []
}

/** Training volume `a` (3 slices) and held-out volume `b` (2 slices) of 4 pixels, images and labels. */
const volumeA = () =>
  volume(
    "a",
    [
      [1, 0, 0, 0],
      [1, 1, 1, 1],
      [1, 1, 0, 0]
    ],
    [
      [1, 0, 0, 0],
      [0, 0, 0, 0],
      [1, 0, 0, 0]
    ]
  )
const volumeB = () =>
  volume(
    "b",
    [
      [0, 0, 0, 0],
      [1, 1, 1, 1]
    ],
    [
      [1, 1, 0, 0],
      [1, 1, 1, 1]
    ]
  )

test("interpolation skips the slices trained on; extrapolation takes the held-out volumes (hand-computed)", async () => {
  const volumes = new Map([
    ["a", volumeA()],
    ["b", volumeB()],
    ["unused", volume("unused", [[1, 1, 1, 1]], [[0, 0, 0, 0]])]
  ])
  const batches: number[] = []
  // the "model" thresholds the image
  const predict = (slices: ReadonlyArray<Float32Array>) => {
    batches.push(slices.length)
    return Effect.succeed(slices.map((s) => Uint8Array.from(s, (v) => (v > 0.5 ? 1 : 0))))
  }
  const r = await Effect.runPromise(evaluateSegmenter(segmenter, volumes, predict, 2))
  assert.deepEqual(r.slices, { interpolation: 2, extrapolation: 2 })
  assert.deepEqual(batches, [2, 2])
  const get = (split: string, c: number) => r.rows.find((x) => x.split === split && x.classId === c)!
  // interpolation: a/z0 and a/z2 -> lesion tp 2 fp 1; background tp 5 fn 1
  assert.equal(get("interpolation", 1).iou, 2 / 3)
  assert.equal(get("interpolation", 1).dice, 4 / 5)
  assert.equal(get("interpolation", 0).iou, 5 / 6)
  // extrapolation: lesion tp 4 fn 2; background tp 2 fp 2
  assert.equal(get("extrapolation", 1).iou, 4 / 6)
  assert.equal(get("extrapolation", 1).dice, 8 / 10)
  assert.equal(get("extrapolation", 0).iou, 2 / 4)
  assert.equal(get("extrapolation", 1).className, "lesion")
  assert.deepEqual(get("extrapolation", 1).seed, 7)
  // examples: the slice with most labeled foreground per split (first on ties)
  assert.deepEqual(
    r.examples.map((e) => [e.split, e.volume, e.slice]),
    [
      ["interpolation", "a", 0],
      ["extrapolation", "b", 1]
    ]
  )
})

test("per-volume rows score each volume of a split on its own; the split's rows pool them (hand-computed)", async () => {
  const volumes = new Map([
    ["a", volume("a", [[1, 1, 0, 0]], [[1, 1, 0, 0]])],
    ["b", volume("b", [[1, 0, 0, 0]], [[1, 1, 0, 0]])],
    ["c", volume("c", [[1, 1, 1, 0]], [[1, 1, 0, 0]])]
  ])
  const predict = (slices: ReadonlyArray<Float32Array>) => Effect.succeed(slices.map((x) => Uint8Array.from(x, (v) => (v > 0.5 ? 1 : 0))))
  const seg = { ...segmenter, trainingSlices: [], heldOutVolumes: ["b", "c"] }
  const r = await Effect.runPromise(evaluateSegmenter(seg, volumes, predict, 4))
  const lesion = (split: string, v?: string) =>
    (v
      ? r.volumeRows.find((x) => x.split === split && x.volume === v && x.classId === 1)
      : r.rows.find((x) => x.split === split && x.classId === 1))!.iou
  // b: tp 1, fn 1 → 1/2; c: tp 2, fp 1 → 2/3; pooled: tp 3, fp 1, fn 1 → 3/5
  assert.equal(lesion("extrapolation", "b"), 1 / 2)
  assert.equal(lesion("extrapolation", "c"), 2 / 3)
  assert.equal(lesion("extrapolation"), 3 / 5)
  assert.equal(lesion("interpolation", "a"), 1)
  assert.deepEqual(
    r.volumeRows.map((x) => [x.split, x.volume, x.classId, x.seed, x.pretraining]),
    [
      ["interpolation", "a", 0, 7, "sorting"],
      ["interpolation", "a", 1, 7, "sorting"],
      ["extrapolation", "b", 0, 7, "sorting"],
      ["extrapolation", "b", 1, 7, "sorting"],
      ["extrapolation", "c", 0, 7, "sorting"],
      ["extrapolation", "c", 1, 7, "sorting"]
    ]
  )
})

test("what predict fails with is the failure; an interrupt between batches stops inference there", async () => {
  const volumes = new Map([
    ["a", volumeA()],
    ["b", volumeB()]
  ])
  const broken = new Error("model exploded")
  const failed = await Effect.runPromiseExit(evaluateSegmenter(segmenter, volumes, () => Effect.fail(broken), 1))
  assert.ok(failed._tag === "Failure" && failed.cause.reasons.some((r) => r._tag === "Fail" && r.error === broken))

  let calls = 0
  let firstCall: () => void = () => undefined
  const called = new Promise<void>((resolve) => (firstCall = resolve))
  const fiber = Effect.runFork(
    evaluateSegmenter(
      segmenter,
      volumes,
      (slices) =>
        Effect.sync(() => {
          calls += 1
          firstCall()
          return slices.map(() => new Uint8Array(4))
        }),
      1
    )
  )
  await called
  await Effect.runPromise(Fiber.interrupt(fiber))
  // 4 slices in batches of 1: the interrupt lands before the second batch
  assert.equal(calls, 1)
})

test("overlay PNG has three panels: grey, truth colored, prediction colored", () => {
  const png = PNG.sync.read(overlayPng(Float32Array.from([0, 1]), [1, 0], [0, 0], 1, 2))
  assert.equal(png.width, 6)
  assert.equal(png.height, 1)
  const px = (x: number) => [...png.data.subarray(4 * x, 4 * x + 3)]
  assert.deepEqual(px(0), [0, 0, 0])
  assert.deepEqual(px(1), [255, 255, 255])
  assert.notDeepEqual(px(2), [0, 0, 0]) // truth label 1 tinted
  assert.deepEqual(px(3), [255, 255, 255])
  assert.deepEqual(px(4), [0, 0, 0]) // predicted background stays grey
})
