import assert from "node:assert/strict"
import { test } from "node:test"
import { analyse, firstPrincipalComponent, organIntervals } from "./analyse.ts"

test("organ intervals come from per-slice label presence", () => {
  const m = organIntervals(new Map([[1, [false, true, true, false]], [2, [false, false, false, false]]]))
  assert.deepEqual([...m], [[1, [1, 2]]])
})

test("analysis: ideal scores localise exactly where proportional placement fails", () => {
  // Two specimens whose anatomy sits at different relative positions: score = anatomical position.
  // a: 20 slices, anatomy 0..19; organ at anatomy 8..11 -> slices 8..11
  // b: 30 slices covering anatomy 5..34 (shifted by 5); organ at slices 3..6
  const a = { id: "a", scores: Array.from({ length: 20 }, (_, i) => i), organs: new Map([[1, [8, 11] as const]]) }
  const b = { id: "b", scores: Array.from({ length: 30 }, (_, i) => i + 5), organs: new Map([[1, [3, 6] as const]]) }
  const r = analyse([a, b], { method: "sorting", labelNames: { "1": "heart" }, partialLength: 0.3, seed: 1, smoothing: "none" })
  assert.deepEqual(r.volumes.map((v) => v.spearman), [1, 1])
  const bFromA = r.organs.find((o) => o.reference === "a" && o.query === "b")!
  assert.equal(bFromA.name, "heart")
  assert.deepEqual(bFromA.predicted, [3, 6])
  assert.equal(bFromA.iou, 1)
  // proportional: [8, 11] of 20 -> [12, 17] of 30, disjoint from the truth
  assert.deepEqual(bFromA.proportional, [12, 17])
  assert.equal(bFromA.proportionalIou, 0)
  // one organ gives two landmarks (its ends) -> a's slice z is b's slice z − 5; blocks found
  // exactly (a block of a starting before slice 5 lies partly outside b and is skipped)
  assert.ok(r.partialScans.length >= 1)
  for (const p of r.partialScans) assert.equal(p.errorSlices, 0, JSON.stringify(p))
})

test("the first principal component is oriented to rise along the first volume", () => {
  // embeddings move along (1, -1) with position; descending first coordinate would flip the sign
  const vol = (n: number, dir: number) => Array.from({ length: n }, (_, i) => Float32Array.from([-dir * i, dir * i, 0.5]))
  const [s1, s2] = firstPrincipalComponent([vol(5, 1), vol(4, 1)])
  for (let i = 1; i < s1.length; i++) assert.ok(s1[i] > s1[i - 1])
  for (let i = 1; i < s2.length; i++) assert.ok(s2[i] > s2[i - 1])
  const [flipped] = firstPrincipalComponent([vol(5, -1)])
  for (let i = 1; i < flipped.length; i++) assert.ok(flipped[i] > flipped[i - 1])
})

test("isotonic smoothing keeps a noisy organ range in one piece", () => {
  // reference organ [4, 6] -> score range [4, 6]; the query's score dips back into the range later
  const ref = { id: "r", scores: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], organs: new Map([[1, [4, 6] as const]]) }
  const query = { id: "q", scores: [0, 1, 2, 3, 4, 5, 6, 7, 5, 9], organs: new Map([[1, [4, 6] as const]]) }
  const opts = { method: "sorting", labelNames: {}, partialLength: 0.3, seed: 1 }
  const raw = analyse([ref, query], { ...opts, smoothing: "none" }).organs.find((o) => o.query === "q")!
  const smooth = analyse([ref, query], { ...opts, smoothing: "isotonic" }).organs.find((o) => o.query === "q")!
  assert.deepEqual(raw.predicted, [4, 6])
  // fit: 7 and 5 pool to 6 -> slices 4..8 lie in [4, 6]
  assert.deepEqual(smooth.predicted, [4, 8])
})
