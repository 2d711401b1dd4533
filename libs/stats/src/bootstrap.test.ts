import { test } from "node:test"
import assert from "node:assert/strict"
import { crossedBootstrap, excludesZero } from "./bootstrap.ts"

/**
 * Hand-computed reference. One seed, volumes [0, 0, 0, 1]: a resample of the 4 volumes has K ones
 * with K ~ Binomial(4, 1/4), so the bootstrap mean is K/4 with P(K = 0..4) = 81, 108, 54, 12, 1
 * (/256). CDF: 0.316, 0.738, 0.949, 0.996, 1 → the 2.5 % quantile is 0 and the 97.5 % quantile is
 * K = 3, i.e. 0.75 (0.949 < 0.975 ≤ 0.996).
 */
test("bootstrap over volumes matches the binomial distribution worked out by hand", () => {
  const i = crossedBootstrap([[0, 0, 0, 1]], { seed: 7, replicates: 20_000 })
  assert.deepEqual([i.mean, i.low, i.high, i.rows, i.columns], [0.25, 0, 0.75, 1, 4])
})

/**
 * Crossed case: cell (seed s, volume v) = a_s + b_v with a = [0, 1], b = [0, 0, 0, 1]. The
 * resampled grid mean is mean(a*) + K/4 with mean(a*) ∈ {0, 0.5, 1} (probabilities 1/4, 1/2, 1/4)
 * independent of K. P(total = 0) = 1/4 · 81/256 = 0.079 ≥ 0.025 → low = 0. Upper tail:
 * P(2) = 1/4 · 1/256 = 0.001, P(1.75) = 1/4 · 12/256 = 0.012, P(1.5) = 1/4 · 54/256 + 1/2 · 1/256
 * = 0.055; P(≥ 1.75) = 0.013 < 0.025 ≤ P(≥ 1.5) → high = 1.5.
 */
test("crossed bootstrap resamples seeds and volumes independently, as worked out by hand", () => {
  const a = [0, 1]
  const b = [0, 0, 0, 1]
  const grid = a.map((x) => b.map((y) => x + y))
  const i = crossedBootstrap(grid, { seed: 3, replicates: 20_000 })
  assert.deepEqual([i.mean, i.low, i.high], [0.75, 0, 1.5])
  // Resampling the 8 cells as if independent would be narrower: it ignores that a seed's cells move together.
  const cells = crossedBootstrap([grid.flat()], { seed: 3, replicates: 20_000 })
  assert.ok(cells.high - cells.low < i.high - i.low, `${cells.low}..${cells.high}`)
})

test("the same seed gives the same interval; missing cells are skipped; empty input gives NaN", () => {
  const grid = [
    [0.1, -0.2, 0.3],
    [0.05, undefined, 0.2],
    [undefined, undefined, undefined]
  ]
  const a = crossedBootstrap(grid, { seed: 1 })
  assert.deepEqual(a, crossedBootstrap(grid, { seed: 1 }))
  assert.equal(a.rows, 2)
  assert.ok(Math.abs(a.mean - (0.1 - 0.2 + 0.3 + 0.05 + 0.2) / 5) < 1e-12)
  assert.ok(a.low <= a.mean && a.mean <= a.high)
  assert.ok(Number.isNaN(crossedBootstrap([[undefined]]).mean))
  assert.equal(excludesZero({ low: 0.01, high: 0.2 }), true)
  assert.equal(excludesZero({ low: -0.01, high: 0.2 }), false)
  assert.equal(excludesZero({ low: -0.3, high: -0.2 }), true)
})
