import assert from "node:assert/strict"
import { test } from "node:test"
import {
  alignSlices,
  averageRanks,
  intervalIoU,
  isotonic,
  landmarkMap,
  locateBlock,
  locateScan,
  longestRun,
  medianInterval,
  presentInterval,
  proportionalInterval,
  proportionalMap,
  scoreRangeLocalize,
  sliceDistances,
  spearman
} from "./localize.ts"

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`)

test("average ranks share tied positions", () => {
  assert.deepEqual([...averageRanks([10, 20, 20, 5])], [2, 3.5, 3.5, 1])
})

test("spearman matches hand-computed values, with and without ties", () => {
  close(spearman([1, 2, 3, 4, 5], [2, 4, 9, 16, 100]), 1)
  close(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1)
  // x ranks 1 2 3 4 5, y = [1, 3, 2, 5, 4] -> d² = 0 1 1 1 1 = 4, rho = 1 − 6·4/(5·24) = 0.8
  close(spearman([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]), 0.8)
  // ties: y = [1, 2, 2, 3] ranks 1 2.5 2.5 4; Pearson with 1 2 3 4:
  // centered x −1.5 −.5 .5 1.5, centered y −1.5 0 0 1.5 -> 4.5 / sqrt(5 · 4.5) = 0.9486832980505138
  close(spearman([1, 2, 3, 4], [1, 2, 2, 3]), 4.5 / Math.sqrt(5 * 4.5))
  assert.equal(spearman([1, 2, 3], [7, 7, 7]), 0)
  assert.throws(() => spearman([1, 2], [1]), RangeError)
})

test("interval IoU counts inclusive slices", () => {
  close(intervalIoU([0, 9], [5, 14]), 5 / 15)
  close(intervalIoU([3, 3], [3, 3]), 1)
  close(intervalIoU([0, 4], [5, 9]), 0)
  close(intervalIoU([2, 7], [0, 9]), 6 / 10)
})

test("longest run picks the longest, first on ties", () => {
  const mask = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1].map(Boolean)
  assert.deepEqual(
    longestRun(mask.length, (i) => mask[i]),
    [4, 6]
  )
  assert.equal(
    longestRun(3, () => false),
    null
  )
  assert.deepEqual(
    longestRun(3, () => true),
    [0, 2]
  )
})

test("score-range localizer maps an organ through scores and keeps the largest run", () => {
  const reference = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] // organ at [3, 5] -> scores 3..5
  // query: a stretched specimen whose scores rise half as fast, with one noisy slice at 1
  const query = [0, 4, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6]
  assert.deepEqual(scoreRangeLocalize(reference, [3, 5], query), [6, 10])
  // reversed organ ends (descending scores) give the same range
  assert.deepEqual(scoreRangeLocalize([...reference].reverse(), [4, 6], query), [6, 10])
  assert.equal(scoreRangeLocalize(reference, [3, 5], [10, 11, 12]), null)
})

test("proportional baseline keeps the relative position", () => {
  // [2, 4] of 10 covers [0.2, 0.5) -> in 20 slices [4, 9]
  assert.deepEqual(proportionalInterval([2, 4], 10, 20), [4, 9])
  assert.deepEqual(proportionalInterval([0, 9], 10, 5), [0, 4])
  assert.deepEqual(proportionalInterval([9, 9], 10, 5), [4, 4])
})

test("present interval spans first to last labeled slice", () => {
  assert.deepEqual(presentInterval([false, true, false, true, false]), [1, 3])
  assert.equal(presentInterval([false, false]), null)
})

test("a partial scan is found under an affine change of scores", () => {
  const reference = Array.from({ length: 40 }, (_, i) => Math.sin(i / 5) + i / 10)
  const block = reference.slice(17, 29).map((v) => 2 * v - 3)
  const m = locateBlock(block, reference, "affine")!
  assert.equal(m.offset, 17)
  close(m.scale, 2, 1e-9)
  close(m.shift, -3, 1e-9)
  close(m.residual, 0, 1e-12)
  assert.equal(locateBlock(reference, block), null)
})

test("a reversed block is not matched with a negative scale", () => {
  const reference = Array.from({ length: 30 }, (_, i) => i)
  const block = [9, 8, 7, 6, 5]
  const m = locateBlock(block, reference, "affine")!
  assert.equal(m.scale, 0)
})

test("identity matching finds a block by its raw scores; affine cannot on a linear profile", () => {
  const reference = Array.from({ length: 30 }, (_, i) => i / 10)
  const block = reference.slice(12, 18)
  assert.equal(locateBlock(block, reference)!.offset, 12)
  assert.equal(locateBlock(block, reference)!.residual, 0)
  // every offset fits a line exactly, so the first one wins: the affine map is uninformative here
  assert.equal(locateBlock(block, reference, "affine")!.offset, 0)
})

test("landmark map fits a line through organ end points", () => {
  // query organs [10, 20] and [30, 40] sit at [5, 10] and [15, 20] in the reference: z/2
  const f = landmarkMap([
    { query: [10, 20], reference: [5, 10] },
    { query: [30, 40], reference: [15, 20] }
  ])!
  close(f(24), 12)
  assert.equal(landmarkMap([]), null)
})

test("isotonic fit pools adjacent violators (hand-computed)", () => {
  // 1 3 2 4 -> (3, 2) pooled to 2.5; 5 4 4 1 all pooled to their mean 3.5
  assert.deepEqual(isotonic([1, 3, 2, 4]), [1, 2.5, 2.5, 4])
  assert.deepEqual(isotonic([5, 4, 4, 1]), [3.5, 3.5, 3.5, 3.5])
  assert.deepEqual(isotonic([0, 1, 2]), [0, 1, 2])
  assert.deepEqual(isotonic([]), [])
})

test("median interval: each end is the median of the mapped ends; an end at a reference's edge votes for the query's edge", () => {
  const identity = { scale: 1, offset: 0 }
  // three 20-slice references, query of 20 slices; organ ends 4, 6, 10 → median 6; 12, 14, 19 (edge) → median 14
  const refs = [
    { organ: [4, 12] as const, length: 20, map: identity },
    { organ: [6, 14] as const, length: 20, map: identity },
    { organ: [10, 19] as const, length: 20, map: identity }
  ]
  assert.deepEqual(medianInterval(refs, 20), [6, 14])
  // two of three touching the end → the median end is the query's last slice
  assert.deepEqual(medianInterval([...refs.slice(0, 1), { ...refs[1], organ: [6, 19] }, refs[2]], 20), [6, 19])
  // a reference sampled twice as densely (reference slice = 2z + 0.5): its organ [8, 13] covers query [4, 6]
  assert.deepEqual(medianInterval([{ organ: [8, 13], length: 40, map: { scale: 2, offset: 0.5 } }], 20), [4, 6])
  assert.equal(medianInterval([], 20), null)
  // mapped wholly outside the query
  assert.equal(medianInterval([{ organ: [3, 5], length: 10, map: { scale: 1, offset: 30 } }], 20), null)
})

test("one reference through the proportional map gives the proportional interval", () => {
  for (const [organ, nr, nq] of [
    [[2, 4], 10, 20],
    [[3, 7], 17, 11],
    [[5, 5], 9, 30],
    [[1, 8], 12, 12]
  ] as const) {
    assert.deepEqual(medianInterval([{ organ, length: nr, map: proportionalMap(nq, nr) }], nq), proportionalInterval(organ, nr, nq))
  }
})

test("slice distances are mean squared differences per dimension", () => {
  const d = sliceDistances(
    [
      [0, 0],
      [1, 2]
    ],
    [
      [0, 0],
      [3, 0],
      [1, 2]
    ]
  )
  assert.deepEqual(
    d.map((r) => [...r]),
    [
      [0, 4.5, 2.5],
      [2.5, 4, 0]
    ]
  )
})

test("score alignment recovers the slice map between two scans of one body with different extent and spacing", () => {
  // slice z of a scan covering body levels [t0, t1] in n slices sits at level t0 + (z + 0.5)/n · (t1 − t0);
  // scores are a strictly increasing, non-linear function of the level
  const level = (t0: number, t1: number, n: number) => (z: number) => t0 + ((z + 0.5) / n) * (t1 - t0)
  const f = (t: number) => t + 0.1 * Math.sin(8 * t)
  const scan = (t0: number, t1: number, n: number) => Array.from({ length: n }, (_, z) => f(level(t0, t1, n)(z)))
  const query = { t0: 0.3, t1: 0.9, n: 50 }
  const reference = { t0: 0.05, t1: 0.7, n: 64 }
  const asRows = (scores: Array<number>) => scores.map((x) => [x])
  const distance = sliceDistances(asRows(scan(query.t0, query.t1, query.n)), asRows(scan(reference.t0, reference.t1, reference.n)))
  const a = alignSlices(distance, { minOverlap: 0.4, maxScale: 4 })!
  // the reference slice at the same level, solved from the level formula
  const truePosition = (z: number) =>
    ((level(query.t0, query.t1, query.n)(z) - reference.t0) / (reference.t1 - reference.t0)) * reference.n - 0.5
  for (const z of [0, 10, 20, 30])
    assert.ok(Math.abs(a.scale * z + a.offset - truePosition(z)) < 0.75, `z ${z}: ${a.scale * z + a.offset} vs ${truePosition(z)}`)
  // the query reaches past the reference's top: only its slices at levels the reference samples count
  const top = level(reference.t0, reference.t1, reference.n)(reference.n - 1)
  const shared = Array.from({ length: query.n }, (_, z) => level(query.t0, query.t1, query.n)(z)).filter((t) => t <= top).length
  assert.ok(Math.abs(a.overlap - shared) <= 1, `overlap ${a.overlap} vs ${shared}`)
})

test("locateScan finds a crop's offset (and a subsampled crop's scale), with confidence only when the placement stands out", () => {
  let seed = 11
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1
  // a random walk in 8-D: nearby slices look alike, distant ones do not
  const reference: Array<Float64Array> = []
  let v = new Float64Array(8)
  for (let i = 0; i < 120; i++) reference.push((v = v.map((x) => x + random())))
  const noisy = (row: Float64Array) => row.map((x) => x + 0.1 * random())
  const crop = reference.slice(37, 67).map(noisy)
  const found = locateScan(sliceDistances(crop, reference), { scale: 1, minOverlap: 1, maxScale: 4, margin: 3 })!
  assert.equal(found.offset, 37)
  assert.equal(found.scale, 1)
  assert.ok(found.confidence > 0.5, `confidence ${found.confidence}`)
  // every second slice: twice the spacing, found without being told the scale
  const sparse = reference.filter((_, i) => i >= 20 && i < 80 && i % 2 === 0).map(noisy)
  const free = locateScan(sliceDistances(sparse, reference), { minOverlap: 1, maxScale: 4, margin: 3 })!
  assert.ok(Math.abs(free.scale - 2) < 0.1, `scale ${free.scale}`)
  assert.ok(Math.abs(free.offset - 20) <= 1, `offset ${free.offset}`)
  // a reference whose every slice looks the same gives no confidence
  const flat = reference.map(() => new Float64Array(8).fill(1))
  const unsure = locateScan(
    sliceDistances(
      crop.map(() => new Float64Array(8).fill(1)),
      flat
    ),
    { scale: 1, minOverlap: 1, maxScale: 4, margin: 3 }
  )!
  assert.equal(unsure.confidence, 0)
})
