import assert from "node:assert/strict"
import { test } from "node:test"
import { StatsAccumulator } from "./stats.ts"

/** Two-pass float64 reference over everything at once. */
const reference = (values: ReadonlyArray<number>) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length
  return { min: Math.min(...values), max: Math.max(...values), mean, std: Math.sqrt(variance) }
}

test("streaming stats match a two-pass reference for every slice type, mixed and with a large offset", () => {
  const slices = [
    Uint16Array.from({ length: 500 }, (_, i) => (i * 7919) % 65536),
    Int16Array.from({ length: 300 }, (_, i) => ((i * 104729) % 65536) - 32768),
    Uint8Array.from({ length: 200 }, (_, i) => (i * 31) % 256),
    Float32Array.from({ length: 400 }, (_, i) => 1e6 + Math.sin(i) * 3),
    Int32Array.from({ length: 100 }, (_, i) => i * 1000 - 50000)
  ]
  for (const subset of [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]]) {
    const acc = new StatsAccumulator()
    const all: Array<number> = []
    for (const k of subset) {
      acc.add(slices[k])
      all.push(...slices[k])
    }
    const got = acc.result()
    const want = reference(all)
    assert.equal(got.min, want.min)
    assert.equal(got.max, want.max)
    assert.ok(Math.abs(got.mean - want.mean) <= 1e-9 * Math.max(1, Math.abs(want.mean)), `mean ${subset}`)
    assert.ok(Math.abs(got.std - want.std) <= 1e-6 * Math.max(1, want.std), `std ${subset}: ${got.std} vs ${want.std}`)
  }
})
