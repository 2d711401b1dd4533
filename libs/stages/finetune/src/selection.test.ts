import assert from "node:assert/strict"
import { test } from "node:test"
import { asSelections, heldOutSplit, selectSlices } from "./selection.ts"

// volume a: slices 2..21 annotated (20), 10 empty; volume b: 0..29 annotated (30)
const volumes = [
  { id: "a", annotated: Array.from({ length: 30 }, (_, z) => z >= 2 && z < 22) },
  { id: "b", annotated: Array.from({ length: 30 }, () => true) }
]
const isAnnotated = (v: string, z: number) => volumes.find((x) => x.id === v)!.annotated[z]

test("a fraction picks that share of annotated slices plus 10 % as many empty ones", () => {
  const picked = selectSlices(volumes, { fraction: 0.2 }, 1)
  const ann = picked.filter((s) => isAnnotated(s.volume, s.slice))
  assert.equal(ann.length, 10) // 20 % of 50
  assert.equal(picked.length - ann.length, 1) // 10 % of 10
  assert.equal(new Set(picked.map((s) => `${s.volume}/${s.slice}`)).size, picked.length)
})

test("selection is reproducible per seed and differs between seeds", () => {
  const key = (seed: number) => JSON.stringify(selectSlices(volumes, { fraction: 0.1 }, seed))
  assert.equal(key(3), key(3))
  assert.notEqual(key(3), key(4))
})

test("a tiny fraction still keeps one slice; 100 % keeps every annotated slice", () => {
  assert.equal(selectSlices(volumes, { fraction: 0.001 }, 1).length, 1)
  const all = selectSlices(volumes, { fraction: 1 }, 1)
  assert.equal(all.filter((s) => isAnnotated(s.volume, s.slice)).length, 50)
  assert.equal(all.length, 55)
})

test("everyK takes regularly spaced slices of every volume, empty or not", () => {
  const picked = selectSlices(volumes, { everyK: 10 }, 1)
  assert.deepEqual(asSelections(picked), [
    { volume: "a", slices: [0, 10, 20] },
    { volume: "b", slices: [0, 10, 20] }
  ])
})

test("held-out volumes are the last ones, and at least one volume trains", () => {
  assert.deepEqual(heldOutSplit(["a", "b", "c", "d"], 2), { train: ["a", "b"], heldOut: ["c", "d"] })
  assert.deepEqual(heldOutSplit(["a"], 2), { train: ["a"], heldOut: [] })
})
