import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect, Schema } from "effect"
import { type ArtifactRef, LocalizationIndex } from "@tomoprior/core"
import { artifactFromDir, checkParamsTable, runStageForTest, SIZE, tempDir, tinyVolumeSet } from "@tomoprior/testkit"
import { identityAffine, openVolume, readVolumeSet, volumeEntry, writeVolume, writeVolumeSetIndex } from "@tomoprior/volume"
import { untrainedEncoder } from "@tomoprior/compute/testing"
import { computeLayer } from "@tomoprior/compute"
import { LocalizeParams } from "./params.ts"
import { localizeStage } from "./stage.ts"

const compute = computeLayer({ backend: "wasm", threads: 1 })

test("localize aligns scans on a score model's pooled features and leaves no tensors behind", async () => {
  const volumes = await Effect.runPromise(tinyVolumeSet(3))
  const encoder = await Effect.runPromise(untrainedEncoder("sorting", SIZE))
  const tf = await import("@tensorflow/tfjs-core")
  const run = () =>
    Effect.runPromise(runStageForTest(localizeStage, { params: {}, inputs: { encoder, volumes, reference: undefined }, compute }))
  await run()
  const before = tf.memory().numTensors
  const { outputs } = await run()
  assert.equal(tf.memory().numTensors, before)
  const index = Schema.decodeUnknownSync(LocalizationIndex)(JSON.parse(readFileSync(join(outputs.localization.dir, "index.json"), "utf8")))
  assert.equal(index.alignedOn, "embeddings")
  // 2 labels in each of 3 volumes, each located from the other 2
  assert.equal(index.multiReference!.length, 6)
  assert.ok(index.multiReference!.every((m) => m.references === 2))
  // per organ and headline rows for each of the four localizers
  assert.equal(index.summary!.length, 4 * 3)
})

/** A VolumeSet of one volume: slices `from`, `from + step`, … (`count` of them) of `volume` of `set`, spaced `step` times as far apart. */
const cropSet = (set: ArtifactRef<"VolumeSet">, volume: number, from: number, count: number, step: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const source = yield* openVolume((yield* readVolumeSet(set.dir)).volumes[volume].dir)
      const [, H, W] = source.header.dims
      const spacing = [step * source.header.spacing[0], source.header.spacing[1], source.header.spacing[2]] as const
      const dir = tempDir("tomoprior-crop-")
      const header = yield* writeVolume(
        join(dir, "crop"),
        { dims: [count, H, W], spacing, dtype: "float32", affine: identityAffine(spacing), axisCodes: ["R", "A", "S"], source: "crop" },
        (z) => Effect.succeed({ voxels: source.readSlice(from + step * z) })
      )
      yield* writeVolumeSetIndex(dir, [volumeEntry(`crop${from}x${step}`, "crop", header)], {})
      return artifactFromDir("VolumeSet", dir, "crop")
    })
  )

test("with a reference VolumeSet, localize places each volume inside each reference volume: offset, and the scale from the spacings", async () => {
  const reference = await Effect.runPromise(tinyVolumeSet(3))
  const encoder = await Effect.runPromise(untrainedEncoder("sorting", SIZE))
  // slices 5–16 of the 24-slice v2, and every second slice from 3 (twice the spacing)
  const dense = await Effect.runPromise(cropSet(reference, 2, 5, 12, 1))
  const sparse = await Effect.runPromise(cropSet(reference, 2, 3, 9, 2))
  const locate = (volumes: ArtifactRef<"VolumeSet">) =>
    Effect.runPromise(runStageForTest(localizeStage, { params: {}, inputs: { encoder, volumes, reference }, compute })).then(
      ({ outputs, logs }) => ({
        logs,
        index: Schema.decodeUnknownSync(LocalizationIndex)(JSON.parse(readFileSync(join(outputs.localization.dir, "index.json"), "utf8")))
      })
    )
  const { index, logs } = await locate(dense)
  assert.deepEqual(
    index.located!.map((l) => [l.scan, l.reference, l.scanSlices, l.referenceSlices, l.scaleFrom, l.scale]),
    ["v0", "v1", "v2"].map((r, i) => ["crop5x1", r, 12, 18 + 3 * i, "spacing", 1])
  )
  const inV2 = index.located!.find((l) => l.reference === "v2")!
  assert.equal(inV2.offset, 5)
  assert.equal(inV2.lastSlice, 16)
  assert.ok(inV2.cost < 1e-9, `the crop's own slices cost ${inV2.cost}`)
  assert.ok(inV2.confidence > 0.5, `confidence ${inV2.confidence}`)
  assert.ok(
    logs.some((l) => /crop5x1 sits at v2 slices 5 … 16 \(confidence/.test(l)),
    logs.join("\n")
  )
  const twice = (await locate(sparse)).index.located!.find((l) => l.reference === "v2")!
  assert.deepEqual([twice.offset, twice.scale, twice.lastSlice], [3, 2, 19])
})

test("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), LocalizeParams)
})
