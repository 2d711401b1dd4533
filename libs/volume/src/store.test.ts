import assert from "node:assert/strict"
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { tempDir } from "@tomoprior/testkit"
import { storeVolume } from "./copy.ts"
import { phantomVolume } from "./phantom.ts"
import { linkArtifactTree, openVolume, readVolumeSet, volumeEntry, writeVolumeSetIndex } from "./store.ts"
import { readAll, runScoped } from "./testing.ts"

const phantom = () => phantomVolume(7, { size: 24, slices: 10 })

test("a stored volume reads back slice by slice, along every axis, with labels and stats", async () => {
  const dir = join(tempDir(), "vol")
  const p = phantom()
  const header = await Effect.runPromise(storeVolume(dir, p.image, p.labels, { source: "phantom:torso#7" }))
  const image = await Effect.runPromise(readAll(p.image))
  const labels = await Effect.runPromise(readAll(p.labels))
  assert.deepEqual(header.dims, [10, 24, 24])
  assert.equal(statSync(join(dir, "voxels.raw")).size, 10 * 24 * 24 * 2)
  assert.equal(statSync(join(dir, "labels.raw")).size, 10 * 24 * 24)
  let sum = 0
  for (const v of image) sum += v
  assert.ok(Math.abs(header.stats.mean - sum / image.length) < 1e-9)
  assert.equal(header.stats.min, Math.min(...image))
  assert.deepEqual(
    [...header.labelIds],
    [...new Set(labels)].sort((a, b) => a - b)
  )
  await runScoped(
    Effect.gen(function* () {
      const v = yield* openVolume(dir)
      const out = new Float32Array(24 * 24)
      for (let z = 0; z < 10; z++) {
        assert.equal(v.readSlice(z, out), out)
        assert.deepEqual([...out], [...image.subarray(z * 576, (z + 1) * 576)])
        assert.deepEqual([...v.readLabelSlice(z)], [...labels.subarray(z * 576, (z + 1) * 576)])
      }
      const planeY = v.readSliceAlong("y", 5)
      const planeX = v.readSliceAlong("x", 17)
      for (let z = 0; z < 10; z++) {
        for (let x = 0; x < 24; x++) assert.equal(planeY[z * 24 + x], image[z * 576 + 5 * 24 + x])
        for (let y = 0; y < 24; y++) assert.equal(planeX[z * 24 + y], image[z * 576 + y * 24 + 17])
      }
      assert.throws(() => v.readSlice(10), /out of range/)
    })
  )
})

test("VolumeSet index round trip and hard-linked copies of an artifact tree", async () => {
  const root = tempDir()
  const art = join(root, "set")
  const p = phantom()
  const header = await Effect.runPromise(storeVolume(join(art, "volumes", "a"), p.image, undefined, { source: "x" }))
  await Effect.runPromise(writeVolumeSetIndex(art, [volumeEntry("a", "volumes/a", header)], { "0": "background" }))
  const set = await Effect.runPromise(readVolumeSet(art))
  assert.equal(set.volumes[0].dir, join(art, "volumes", "a"))
  assert.equal(set.index.volumes[0].hasLabels, false)
  const copy = join(root, "tuples", "volumes")
  await Effect.runPromise(linkArtifactTree(art, copy))
  const a = statSync(join(art, "volumes/a/voxels.raw"))
  const b = statSync(join(copy, "volumes/a/voxels.raw"))
  assert.equal(a.ino, b.ino)
  assert.ok(existsSync(join(copy, "index.json")))
  assert.equal(readFileSync(join(copy, "index.json"), "utf8"), readFileSync(join(art, "index.json"), "utf8"))
  // The runner's manifest of the input (its run, its times) would make the copy differ from run to run.
  writeFileSync(join(art, "manifest.json"), '{"provenance":{"startedAt":"…"}}')
  writeFileSync(join(art, "volumes", "manifest.json"), "a volume's own file of that name")
  const again = join(root, "tuples2", "volumes")
  await Effect.runPromise(linkArtifactTree(art, again))
  assert.equal(existsSync(join(again, "manifest.json")), false)
  assert.ok(existsSync(join(again, "volumes", "manifest.json")), "only the top-level manifest is left out")
})
