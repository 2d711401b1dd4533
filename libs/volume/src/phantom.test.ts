import assert from "node:assert/strict"
import { test } from "node:test"
import { Effect } from "effect"
import { phantomVolume, phantomVolumeSeed } from "./phantom.ts"
import { readAll } from "./testing.ts"

const S = 64
const Z = 40

const render = async (seed: number) => {
  const p = phantomVolume(seed, { size: S, slices: Z })
  const [hu, labels] = await Effect.runPromise(Effect.all([readAll(p.image), readAll(p.labels)]))
  return { p, hu, labels }
}

const meanOf = (values: Array<number>) => values.reduce((a, b) => a + b, 0) / values.length

test("the phantom is deterministic per seed and differs between seeds, including its z extent", async () => {
  const a = await render(1)
  const b = await render(1)
  const c = await render(2)
  assert.deepEqual(a.hu, b.hu)
  assert.deepEqual(a.labels, b.labels)
  assert.notDeepEqual(a.hu, c.hu)
  assert.notEqual(a.p.spec.t0, c.p.spec.t0)
  assert.notEqual(a.p.spec.rotation, c.p.spec.rotation)
  assert.notEqual(phantomVolumeSeed(1, 0), phantomVolumeSeed(0, 1))
})

test("organs sit in anatomical order along z with realistic HU, smooth change between slices, lesions present", async () => {
  let lesionVoxels = 0
  for (const seed of [3, 4, 5, 6]) {
    const { hu, labels } = await render(seed)
    const n = S * S
    const byLabel = new Map<number, { hu: Array<number>; z: Array<number> }>()
    const area = Array.from({ length: 6 }, () => new Array<number>(Z).fill(0))
    for (let i = 0; i < hu.length; i++) {
      const l = labels[i]
      assert.ok(Number.isInteger(l) && l >= 0 && l <= 5)
      const entry = byLabel.get(l) ?? { hu: [], z: [] }
      entry.hu.push(hu[i])
      entry.z.push(Math.floor(i / n))
      byLabel.set(l, entry)
      area[l][Math.floor(i / n)]++
    }
    const lungs = byLabel.get(1)!
    const heart = byLabel.get(2)!
    const liver = byLabel.get(3)!
    const spine = byLabel.get(4)!
    assert.ok(Math.abs(meanOf(lungs.hu) + 850) < 30, `lungs ${meanOf(lungs.hu)}`)
    assert.ok(Math.abs(meanOf(liver.hu) - 60) < 10, `liver ${meanOf(liver.hu)}`)
    assert.ok(meanOf(heart.hu) > 60 && meanOf(heart.hu) < 180, `heart ${meanOf(heart.hu)}`)
    assert.ok(meanOf(spine.hu) > 200, `spine ${meanOf(spine.hu)}`)
    // stored z increases toward the head: liver below heart below the lungs' center of mass
    assert.ok(meanOf(liver.z) < meanOf(heart.z), `seed ${seed}: liver z ${meanOf(liver.z)} heart z ${meanOf(heart.z)}`)
    assert.ok(meanOf(liver.z) < meanOf(lungs.z))
    assert.equal(area[1][0], 0, "no lung in the lowest slice")
    assert.ok(area[1][Z - 1] > 0, "lungs in the top slice")
    assert.ok(
      area[4].every((a) => a > 0),
      "spine in every slice"
    )
    const maxLung = Math.max(...area[1])
    for (let z = 1; z < Z; z++) assert.ok(Math.abs(area[1][z] - area[1][z - 1]) < 0.25 * maxLung, `lung area jumps at z=${z}`)
    // air outside the body: mean −1000 (clipped at −1024), noise σ 20–35
    const air = byLabel.get(0)!.hu.filter((v) => v < -900)
    const m = meanOf(air)
    const sd = Math.sqrt(meanOf(air.map((v) => (v - m) ** 2)))
    assert.ok(Math.abs(m + 1000) < 5 && sd > 15 && sd < 36, `air ${m} ± ${sd}`)
    lesionVoxels += byLabel.get(5)?.hu.length ?? 0
  }
  assert.ok(lesionVoxels > 0)
})

test("the hard phantom: soft-tissue organs closer to their surroundings, stronger noise, a calibration of its own per volume", async () => {
  const stats = async (seed: number, difficulty: "standard" | "hard") => {
    const p = phantomVolume(seed, { size: S, slices: Z, difficulty })
    const [hu, labels] = await Effect.runPromise(Effect.all([readAll(p.image), readAll(p.labels)]))
    const liver: Array<number> = []
    for (let i = 0; i < hu.length; i++) if (labels[i] === 3) liver.push(hu[i])
    const m = meanOf(liver)
    const sd = Math.sqrt(meanOf(liver.map((v) => (v - m) ** 2)))
    return { spec: p.spec, liverMean: m, liverSd: sd }
  }
  for (const seed of [3, 4]) {
    const standard = await stats(seed, "standard")
    const hard = await stats(seed, "hard")
    assert.deepEqual([standard.spec.contrast, standard.spec.intensityScale, standard.spec.intensityOffset], [1, 1, 0])
    assert.equal(hard.spec.contrast, 0.5)
    assert.ok(Math.abs(hard.spec.noiseSigma / standard.spec.noiseSigma - 1.8) < 1e-12)
    // liver HU: 40 + (60 − 40) · 0.5 = 50, through the volume's calibration
    const expected = 50 * hard.spec.intensityScale + hard.spec.intensityOffset
    assert.ok(Math.abs(hard.liverMean - expected) < 8, `seed ${seed}: liver ${hard.liverMean} vs ${expected}`)
    // contrast to noise of the liver against soft tissue (40) drops
    const cnr = (s: typeof hard, tissue: number) => Math.abs(s.liverMean - tissue) / s.liverSd
    assert.ok(cnr(hard, 40 * hard.spec.intensityScale + hard.spec.intensityOffset) < cnr(standard, 40) / 2)
  }
  const scales = await Promise.all([5, 6, 7].map(async (seed) => (await stats(seed, "hard")).spec.intensityScale))
  assert.equal(new Set(scales).size, 3)
})
