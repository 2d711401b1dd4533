import assert from "node:assert/strict"
import { join } from "node:path"
import { test } from "node:test"
import { Effect, Exit, Schema } from "effect"
import { artifactFromDir, checkParamsTable, runStageForTest, tempDir } from "@tomoprior/testkit"
import {
  openVolume,
  phantomVolume,
  readVolumeSet,
  storeVolume,
  volumeEntry,
  writeVolumeSetIndex,
  type VolumeHandle
} from "@tomoprior/volume"
import { NormalizeParams } from "./params.ts"
import { normalizeStage } from "./stage.ts"

const Z = 8
const S = 32

/** A one-volume VolumeSet (phantom, with labels) and the raw HU of every slice. */
const inputSet = async () => {
  const dir = tempDir()
  const p = phantomVolume(11, { size: S, slices: Z })
  const header = await Effect.runPromise(storeVolume(join(dir, "volumes", "v"), p.image, p.labels, { source: "test" }))
  await Effect.runPromise(writeVolumeSetIndex(dir, [volumeEntry("v", "volumes/v", header)], { "0": "background", "1": "lungs" }))
  return { ref: artifactFromDir("VolumeSet", dir), header }
}

const withBoth = async <A>(inDir: string, outDir: string, use: (a: VolumeHandle, b: VolumeHandle) => A): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const a = yield* openVolume(join(inDir, "volumes", "v"))
        const b = yield* openVolume(join(outDir, "volumes", "v"))
        return use(a, b)
      })
    )
  )

const normalized = (params: unknown, ref: Awaited<ReturnType<typeof inputSet>>["ref"]) =>
  Effect.runPromise(runStageForTest(normalizeStage, { params, inputs: { volumes: ref } }))

test("window + unit scaling keeps the grid and maps each voxel to (clip(v) − lo) / (hi − lo)", async () => {
  const { ref } = await inputSet()
  const r = await normalized({ window: [-1000, 400] }, ref)
  const set = await Effect.runPromise(readVolumeSet(r.outputs.volumes.dir))
  assert.deepEqual(set.index.labelNames, { "0": "background", "1": "lungs" })
  await withBoth(ref.dir, r.outputs.volumes.dir, (a, b) => {
    assert.equal(b.header.dtype, "float32")
    assert.deepEqual(b.header.dims, [Z, S, S])
    for (let z = 0; z < Z; z++) {
      const src = a.readSlice(z)
      const got = b.readSlice(z)
      for (let i = 0; i < src.length; i++) {
        const want = (Math.min(400, Math.max(-1000, src[i])) + 1000) / 1400
        assert.ok(Math.abs(got[i] - want) < 1e-6)
      }
      assert.deepEqual([...b.readLabelSlice(z)], [...a.readLabelSlice(z)])
    }
  })
  assert.ok(r.progress.at(-1)?.done === 1)
})

test("halving in-plane and along z averages 2×2×2 blocks (linear at half-pixel centers); labels take the nearest voxel", async () => {
  const { ref, header } = await inputSet()
  const r = await normalized({ scale: "none", size: S / 2, spacingZ: header.spacing[0] * 2 }, ref)
  await withBoth(ref.dir, r.outputs.volumes.dir, (a, b) => {
    assert.deepEqual(b.header.dims, [Z / 2, S / 2, S / 2])
    assert.ok(Math.abs(b.header.spacing[0] - header.spacing[0] * 2) < 1e-9)
    assert.ok(Math.abs(b.header.spacing[1] - header.spacing[1] * 2) < 1e-9)
    // the center of new voxel (0,0,0) lies halfway between old voxels 0 and 1 on each axis
    for (let c = 0; c < 3; c++)
      assert.ok(
        Math.abs(
          b.header.affine[c][3] - (a.header.affine[c][3] + 0.5 * (a.header.affine[c][0] + a.header.affine[c][1] + a.header.affine[c][2]))
        ) < 1e-9
      )
    const h = S / 2
    for (let k = 0; k < Z / 2; k++) {
      const s0 = a.readSlice(2 * k)
      const s1 = a.readSlice(2 * k + 1)
      const got = b.readSlice(k)
      const labels = b.readLabelSlice(k)
      const srcLabels = a.readLabelSlice(2 * k + 1)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < h; x++) {
          let sum = 0
          for (const s of [s0, s1])
            for (const [dy, dx] of [
              [0, 0],
              [0, 1],
              [1, 0],
              [1, 1]
            ])
              sum += s[(2 * y + dy) * S + 2 * x + dx]
          assert.ok(Math.abs(got[y * h + x] - sum / 8) < 1e-3, `k=${k} y=${y} x=${x}`)
          assert.equal(labels[y * h + x], srcLabels[(2 * y + 1) * S + 2 * x + 1])
        }
    }
  })
})

test("z-score after percentile clipping gives mean 0 and std 1; percentiles [0, 100] are the min and max", async () => {
  const { ref, header } = await inputSet()
  const z = await normalized({ percentiles: [1, 99], scale: "zscore" }, ref)
  const full = await normalized({ percentiles: [0, 100] }, ref)
  await withBoth(ref.dir, z.outputs.volumes.dir, (_a, b) => {
    assert.ok(Math.abs(b.header.stats.mean) < 1e-4)
    assert.ok(Math.abs(b.header.stats.std - 1) < 1e-4)
  })
  await withBoth(ref.dir, full.outputs.volumes.dir, (_a, b) => {
    assert.ok(Math.abs(b.header.stats.min) < 1e-6)
    assert.ok(Math.abs(b.header.stats.max - 1) < 1e-6)
  })
  assert.ok(header.stats.max > header.stats.min)
})

test("window and percentiles together are refused by the schema, at `percentiles`, so plan points at it", () => {
  const exit = Schema.decodeUnknownExit(NormalizeParams)({ window: [0, 1], percentiles: [1, 99] })
  assert.ok(Exit.isFailure(exit))
  assert.match(String(exit.cause), /give `window` or `percentiles`, not both[\s\S]*at \["percentiles"\]/)
})

test("keepLabels keeps the listed ids renumbered in ascending order and names them; every other label becomes 0", async () => {
  const { ref } = await inputSet()
  // phantom labels: 1 lungs, 2 heart, 3 liver, 4 spine, 5 lesions
  const r = await normalized({ keepLabels: { "4": "spine", "2": "heart" } }, ref)
  const set = await Effect.runPromise(readVolumeSet(r.outputs.volumes.dir))
  assert.deepEqual(set.index.labelNames, { "0": "background", "1": "heart", "2": "spine" })
  await withBoth(ref.dir, r.outputs.volumes.dir, (a, b) => {
    for (let z = 0; z < Z; z++) {
      const src = a.readLabelSlice(z)
      const got = b.readLabelSlice(z)
      for (let i = 0; i < src.length; i++) assert.equal(got[i], src[i] === 2 ? 1 : src[i] === 4 ? 2 : 0)
    }
  })
  assert.ok(Exit.isFailure(Schema.decodeUnknownExit(NormalizeParams)({ keepLabels: { "0": "background" } })))
})

test("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), NormalizeParams)
})
