import { describe, it } from "node:test"
import assert from "node:assert/strict"
import { Schema } from "effect"
import { AugmentConfig, augmentSlice, defaultAugment, noAugment } from "./augment.ts"
import { addNoise, adjustIntensity, affine, cropOrPad, equalize, flipHorizontal, flipVertical, gaussianBlur, type Image } from "./ops.ts"
import { makeRng } from "./rng.ts"

const image = (h: number, w: number, f: (y: number, x: number) => number): Image => {
  const data = new Float32Array(h * w)
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(y, x)
  return { data, h, w }
}
const ramp = image(5, 7, (y, x) => 10 * y + x)

describe("augment ops", () => {
  it("flips: one flip mirrors, two flips are the identity", () => {
    assert.deepEqual([...flipHorizontal(ramp).data.slice(0, 7)], [6, 5, 4, 3, 2, 1, 0])
    assert.deepEqual([...flipVertical(ramp).data.slice(0, 7)], [40, 41, 42, 43, 44, 45, 46])
    assert.deepEqual(flipHorizontal(flipHorizontal(ramp)).data, ramp.data)
    assert.deepEqual(flipVertical(flipVertical(ramp)).data, ramp.data)
  })

  it("affine: rotation by 0 is the identity, 90° on a square maps (y,x) to (n−1−x, y)", () => {
    assert.deepEqual(affine(ramp, { degrees: 0, scale: 1, shiftY: 0, shiftX: 0 }).data, ramp.data)
    const sq = image(5, 5, (y, x) => 10 * y + x)
    const r = affine(sq, { degrees: 90, scale: 1, shiftY: 0, shiftX: 0 })
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 5; x++) assert.ok(Math.abs(r.data[y * 5 + x] - sq.data[(4 - x) * 5 + y]) < 1e-4, `${y},${x}`)
  })

  it("affine: a half-pixel shift interpolates linearly", () => {
    const s = affine(ramp, { degrees: 0, scale: 1, shiftY: 0, shiftX: 0.5 })
    assert.ok(Math.abs(s.data[3] - 2.5) < 1e-5)
  })

  it("crop/pad: crops the chosen window and pads with the minimum", () => {
    const c = cropOrPad(ramp, 3, (e) => e)
    assert.deepEqual([...c.data], [24, 25, 26, 34, 35, 36, 44, 45, 46])
    const p = cropOrPad(
      image(2, 2, (y, x) => 1 + y * 2 + x),
      4,
      () => 1
    )
    assert.deepEqual([...p.data], [1, 1, 1, 1, 1, 1, 2, 1, 1, 3, 4, 1, 1, 1, 1, 1])
  })

  it("blur keeps constants and the mean of a symmetric pattern, and lowers variance", () => {
    const flat = gaussianBlur(
      image(6, 6, () => 3),
      1
    )
    assert.ok(flat.data.every((v) => Math.abs(v - 3) < 1e-5))
    const checker = image(8, 8, (y, x) => (y + x) % 2)
    const b = gaussianBlur(checker, 1)
    const mean = b.data.reduce((s, v) => s + v, 0) / 64
    assert.ok(Math.abs(mean - 0.5) < 1e-4)
    assert.ok(b.data.every((v) => Math.abs(v - 0.5) < 0.1))
  })

  it("intensity: identity parameters keep the image, brightness shifts by a fraction of the range", () => {
    const same = adjustIntensity(ramp, { brightness: 0, contrast: 1, gamma: 1 })
    ramp.data.forEach((v, i) => assert.ok(Math.abs(same.data[i] - v) < 1e-4))
    const up = adjustIntensity(ramp, { brightness: 0.1, contrast: 1, gamma: 1 })
    ramp.data.forEach((v, i) => assert.ok(Math.abs(up.data[i] - (v + 4.6)) < 1e-4))
  })

  it("equalisation flattens the histogram of a skewed image", () => {
    const rng = makeRng(3)
    const skewed = image(64, 64, () => rng.next() ** 2)
    const eighths = (img: Image) => {
      const counts = new Array(8).fill(0)
      for (const v of img.data) counts[Math.min(7, Math.floor(v * 8))]++
      return counts
    }
    const spread = (c: Array<number>) => Math.max(...c) - Math.min(...c)
    // Fine bins: nearly flat. Default bins: the lowest bin cannot be split, but the spread still drops a lot.
    for (const c of eighths(equalize(skewed, 4096))) assert.ok(Math.abs(c - 512) < 80, `counts ${c}`)
    assert.ok(spread(eighths(equalize(skewed))) < spread(eighths(skewed)) / 3)
  })

  it("noise has the requested standard deviation relative to the range", () => {
    const base = image(100, 100, (y) => (y < 50 ? 0 : 2))
    const n = addNoise(base, 0.05, makeRng(9).normal)
    const diff = n.data.map((v, i) => v - base.data[i])
    const mean = diff.reduce((s, v) => s + v, 0) / diff.length
    const sd = Math.sqrt(diff.reduce((s, v) => s + (v - mean) ** 2, 0) / diff.length)
    assert.ok(Math.abs(mean) < 0.004 && Math.abs(sd - 0.1) < 0.004, `${mean} ${sd}`)
  })
})

describe("augmentSlice", () => {
  const slice = image(40, 36, (y, x) => Math.sin(y / 5) * Math.cos(x / 7))

  it("is a pure function of the seed", () => {
    const a = augmentSlice(slice.data, 40, 36, 32, defaultAugment, 11)
    assert.deepEqual(a, augmentSlice(slice.data, 40, 36, 32, defaultAugment, 11))
    assert.notDeepEqual(a, augmentSlice(slice.data, 40, 36, 32, defaultAugment, 12))
    assert.equal(a.length, 32 * 32)
  })

  it("with everything off it is a centered crop/pad", () => {
    const a = augmentSlice(slice.data, 40, 36, 32, noAugment, 5)
    assert.equal(a[0], slice.data[4 * 36 + 2])
  })

  it("config schema fills defaults and rejects probabilities above 1", () => {
    const c = Schema.decodeUnknownSync(AugmentConfig)({ noise: { std: 0.1 } })
    assert.equal(c.noise.p, 0.5)
    assert.equal(c.noise.std, 0.1)
    assert.throws(() => Schema.decodeUnknownSync(AugmentConfig)({ flip: { p: 2 } }))
  })
})
