import { describe, it } from "node:test"
import assert from "node:assert/strict"
import { evenlySpaced, pairsCorrect, rankDisplacement, ranks, spearman } from "./metrics.ts"

describe("order metrics", () => {
  it("ranks share ties", () => assert.deepEqual(ranks([3, 1, 3, 2]), [2.5, 0, 2.5, 1]))

  it("spearman: ±1 for monotone, hand-computed value otherwise", () => {
    assert.equal(spearman([1, 5, 9, 20], [0, 1, 2, 3]), 1)
    assert.equal(spearman([20, 9, 5, 1], [0, 1, 2, 3]), -1)
    // ranks [0,2,1,3] vs [0,1,2,3]: Σd² = 2, n = 4 → 1 − 6·2/(4·15) = 0.8
    assert.ok(Math.abs(spearman([0.1, 0.3, 0.2, 0.4], [0, 1, 2, 3]) - 0.8) < 1e-12)
    assert.equal(spearman([1, 1, 1], [0, 1, 2]), 0)
  })

  it("pairs correct and rank displacement on a hand case", () => {
    // One swapped neighbour pair out of 6 pairs.
    assert.equal(pairsCorrect([0.1, 0.3, 0.2, 0.4], [0, 1, 2, 3]), 5 / 6)
    // |d| = [0,1,1,0] → mean 0.5, / n = 0.125
    assert.equal(rankDisplacement([0.1, 0.3, 0.2, 0.4], [0, 1, 2, 3]), 0.125)
  })

  it("evenly spaced positions cover both ends", () => {
    assert.deepEqual(evenlySpaced(10, 4), [0, 3, 6, 9])
    assert.deepEqual(evenlySpaced(3, 5), [0, 1, 2])
  })
})
