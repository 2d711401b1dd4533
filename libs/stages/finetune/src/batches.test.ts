import assert from "node:assert/strict"
import { test } from "node:test"
import { batchSampler, stepBatch } from "./batches.ts"

test("batches have exactly batchSize slices and cycle through every slice", () => {
  const next = batchSampler(5, 4, 1)
  const seen = [...next(), ...next(), ...next(), ...next(), ...next()]
  assert.equal(seen.length, 20)
  // 20 draws = 4 full permutations of 5 slices
  for (let i = 0; i < 5; i++) assert.equal(seen.filter((s) => s === i).length, 4)
})

test("a step's batch holds the picked slices and their labels one-hot, in pick order", () => {
  // three 2-pixel slices: images 10+i, labels per pixel
  const images = Float32Array.from([10, 10, 11, 11, 12, 12])
  const labels = [0, 1, 2, 2, 1, 0]
  const { inputs, targets } = stepBatch(images, labels, [2, 0], 2, 3)
  assert.deepEqual(Array.from(inputs), [12, 12, 10, 10])
  // pixel by pixel: slice 2 (classes 1, 0), slice 0 (classes 0, 1)
  assert.deepEqual(Array.from(targets), [0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0])
})
