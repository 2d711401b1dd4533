import { describe, it } from "node:test"
import assert from "node:assert/strict"
import { Effect, Exit } from "effect"
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { TupleSetIndex, VolumeSetIndex } from "@tomoprior/core"
import { artifactFromDir, checkParamsTable, runStageForTest, tempDir } from "@tomoprior/testkit"
import { TupleSampleParams } from "./params.ts"
import { tupleSampleStage } from "./stage.ts"

/** A VolumeSet directory with the given z depths (index + a placeholder voxel file per volume). */
const volumeSet = (depths: ReadonlyArray<number>): string => {
  const dir = tempDir("tuple-sample-vs-")
  const index: VolumeSetIndex = {
    kind: "VolumeSet",
    labelNames: {},
    volumes: depths.map((d, i) => ({
      id: `v${i}`,
      path: `v${i}`,
      dims: [d, 8, 8],
      spacing: [1, 1, 1],
      hasLabels: false,
      source: `test#${i}`
    }))
  }
  for (const v of index.volumes) {
    mkdirSync(join(dir, v.path))
    writeFileSync(join(dir, v.path, "voxels.bin"), Buffer.alloc(v.dims[0] * 64))
  }
  writeFileSync(join(dir, "index.json"), JSON.stringify(index))
  writeFileSync(join(dir, "manifest.json"), "{}")
  return dir
}

const run = (dir: string, params: Record<string, unknown>) =>
  Effect.runPromise(runStageForTest(tupleSampleStage, { params, inputs: { volumes: artifactFromDir("VolumeSet", dir) } }))

const sample = async (dir: string, params: Record<string, unknown>) => {
  const out = await run(dir, params)
  return JSON.parse(readFileSync(join(out.outputs.tuples.dir, "index.json"), "utf8")) as TupleSetIndex
}

const runFails = async (dir: string, params: Record<string, unknown>, pattern: RegExp) => {
  const exit = await Effect.runPromiseExit(
    runStageForTest(tupleSampleStage, { params, inputs: { volumes: artifactFromDir("VolumeSet", dir) } })
  )
  assert.ok(Exit.isFailure(exit), "expected failure")
  assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), pattern)
}

describe("tuple-sample", () => {
  const vs = volumeSet([40, 50, 60, 70, 80])

  it("is deterministic for a seed and changes with it", async () => {
    const a = await sample(vs, { seed: 7, groupsPerEpoch: 5, epochs: 2 })
    const b = await sample(vs, { seed: 7, groupsPerEpoch: 5, epochs: 2 })
    const c = await sample(vs, { seed: 8, groupsPerEpoch: 5, epochs: 2 })
    assert.deepEqual(a, b)
    assert.notDeepEqual(a.epochs, c.epochs)
    assert.equal(a.epochs.length, 2)
    assert.equal(a.epochs[0].length, 5)
  })

  it("unique: distinct, in bounds, min gap respected, only training volumes", async () => {
    const t = await sample(vs, { mode: "unique", groupSize: 8, minGap: 4, groupsPerEpoch: 50, epochs: 1, validation: 2 })
    assert.equal(t.validationVolumes.length, 2)
    const depth = (id: string) => 40 + 10 * Number(id.slice(1))
    for (const g of t.epochs[0]) {
      assert.equal(g.volumes.length, 1)
      assert.ok(t.trainVolumes.includes(g.volumes[0]))
      assert.equal(g.slices.length, 8)
      assert.equal(new Set(g.slices).size, 8)
      const sorted = [...g.slices].sort((a, b) => a - b)
      for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i] - sorted[i - 1] >= 4)
      for (const s of g.slices) assert.ok(Number.isInteger(s) && s >= 0 && s < depth(g.volumes[0]))
    }
  })

  it("unique with the tightest gap still fits (positions cover both ends)", async () => {
    const tight = volumeSet([15, 15])
    const t = await sample(tight, { groupSize: 8, minGap: 2, groupsPerEpoch: 3, epochs: 1, validation: 0 })
    for (const g of t.epochs[0])
      assert.deepEqual(
        [...g.slices].sort((a, b) => a - b),
        [0, 2, 4, 6, 8, 10, 12, 14]
      )
  })

  it("even: in bounds, repeats possible, relative positions roughly uniform", async () => {
    const small = volumeSet([6, 6, 6])
    const t = await sample(small, { mode: "even", groupSize: 16, groupsPerEpoch: 100, epochs: 1, validation: 0 })
    const all = t.epochs[0].flatMap((g) => g.slices)
    assert.ok(all.every((s) => s >= 0 && s < 6))
    assert.ok(t.epochs[0].some((g) => new Set(g.slices).size < g.slices.length))
    const counts = Array.from({ length: 6 }, (_, k) => all.filter((s) => s === k).length)
    for (const c of counts) assert.ok(Math.abs(c - all.length / 6) < 0.1 * all.length, `counts ${counts}`)
  })

  it("aligned: members from several volumes at the same relative positions", async () => {
    const t = await sample(vs, { mode: "aligned", groupSize: 6, minGap: 3, groupsPerEpoch: 20, epochs: 1, validation: 0 })
    const depth = (id: string) => 40 + 10 * Number(id.slice(1))
    const shortest = 40
    for (const g of t.epochs[0]) {
      assert.equal(g.volumes.length, 6)
      // Every member sits at p/(shortest−1) of its own volume, p on the shortest volume's grid ≥ minGap apart.
      const grid = g.slices.map((s, k) => Math.round((s / (depth(g.volumes[k]) - 1)) * (shortest - 1)))
      g.slices.forEach((s, k) => assert.equal(s, Math.round((grid[k] / (shortest - 1)) * (depth(g.volumes[k]) - 1))))
      const sorted = [...grid].sort((a, b) => a - b)
      for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i] - sorted[i - 1] >= 3)
    }
    assert.ok(t.epochs[0].some((g) => new Set(g.volumes).size > 1))
  })

  it("splits volumes disjointly by fraction and by count, deterministically", async () => {
    const ten = volumeSet(Array.from({ length: 10 }, () => 30))
    const byFraction = await sample(ten, { validation: 0.3, seed: 3, groupsPerEpoch: 2, epochs: 1 })
    assert.equal(byFraction.validationVolumes.length, 3)
    assert.equal(byFraction.trainVolumes.length, 7)
    assert.equal(new Set([...byFraction.trainVolumes, ...byFraction.validationVolumes]).size, 10)
    const byCount = await sample(ten, { validation: 4, seed: 3, groupsPerEpoch: 2, epochs: 1 })
    assert.equal(byCount.validationVolumes.length, 4)
    const used = new Set(byCount.epochs.flat().flatMap((g) => g.volumes))
    for (const v of byCount.validationVolumes) assert.ok(!used.has(v))
  })

  it("carries the VolumeSet under volumes/ as hard links", async () => {
    const out = await run(vs, { groupsPerEpoch: 1, epochs: 1 })
    const dir = out.outputs.tuples.dir
    assert.equal(statSync(join(dir, "volumes", "v0", "voxels.bin")).ino, statSync(join(vs, "v0", "voxels.bin")).ino)
    assert.ok(statSync(join(dir, "volumes", "index.json")).isFile())
  })

  it("rejects bad parameters with a message that says what to change", async () => {
    await runFails(vs, { groupSize: 50 }, /needs 50 for groupSize 50/)
    await runFails(vs, { validation: 5 }, /leaves none for training/)
    await runFails(vs, { validation: 2.5 }, /whole count[\s\S]*at \["validation"\]/)
    await runFails(vs, { mode: "even", minGap: 3 }, /`minGap` must stay 1[\s\S]*at \["minGap"\]/)
    await runFails(vs, { groupSize: 1 }, /groupSize/)
    await runFails(vs, { mode: "sorted" }, /mode/)
  })
})

it("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), TupleSampleParams)
})
