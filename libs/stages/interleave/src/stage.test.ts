import assert from "node:assert/strict"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { artifactFromDir, checkParamsTable, runStageForTest, tempDir } from "@tomoprior/testkit"
import { openVolume, phantomVolume, readVolumeSet, storeVolume, volumeEntry, writeVolumeSetIndex } from "@tomoprior/volume"
import { InterleaveParams } from "./params.ts"
import { interleaveStage } from "./stage.ts"

const world = (affine: ReadonlyArray<ReadonlyArray<number>>, x: number, y: number, z: number) =>
  affine.slice(0, 3).map((r) => r[0] * x + r[1] * y + r[2] * z + r[3])

test("each volume becomes `parts` volumes of every parts-th slice, voxels, labels and world positions unchanged", async () => {
  const dir = tempDir()
  const p = phantomVolume(3, { size: 16, slices: 8 })
  const header = await Effect.runPromise(storeVolume(join(dir, "volumes", "ct"), p.image, p.labels, { source: "test" }))
  await Effect.runPromise(writeVolumeSetIndex(dir, [volumeEntry("ct", "volumes/ct", header)], { "0": "background", "1": "lungs" }))
  const run = await Effect.runPromise(
    runStageForTest(interleaveStage, { params: { parts: 3 }, inputs: { volumes: artifactFromDir("VolumeSet", dir) } })
  )
  const set = await Effect.runPromise(readVolumeSet(run.outputs.volumes.dir))
  assert.deepEqual(
    set.volumes.map((v) => [v.entry.id, v.entry.dims[0]]),
    [
      ["ct-1of3", 3],
      ["ct-2of3", 3],
      ["ct-3of3", 2]
    ]
  )
  assert.deepEqual(set.index.labelNames, { "0": "background", "1": "lungs" })
  await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const src = yield* openVolume(join(dir, "volumes", "ct"))
        for (const [j, v] of set.volumes.entries()) {
          const part = yield* openVolume(v.dir)
          assert.equal(part.header.dtype, src.header.dtype)
          assert.ok(Math.abs(part.header.spacing[0] - 3 * src.header.spacing[0]) < 1e-9)
          for (let k = 0; k < part.header.dims[0]; k++) {
            const z = j + 3 * k
            assert.deepEqual([...part.readRawSlice(k)], [...src.readRawSlice(z)])
            assert.deepEqual([...part.readLabelSlice(k)], [...src.readLabelSlice(z)])
            world(part.header.affine, 2, 5, k).forEach((c, a) => assert.ok(Math.abs(c - world(src.header.affine, 2, 5, z)[a]) < 1e-9))
          }
        }
      })
    )
  )
})

test("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), InterleaveParams)
})
