import { describe, it } from "node:test"
import assert from "node:assert/strict"
import { deriveSeed, makeRng } from "./rng.ts"

describe("rng", () => {
  it("repeats for a seed and differs across seeds", () => {
    const a = makeRng(42),
      b = makeRng(42),
      c = makeRng(43)
    const xs = Array.from({ length: 5 }, a.next)
    assert.deepEqual(xs, Array.from({ length: 5 }, b.next))
    assert.notDeepEqual(xs, Array.from({ length: 5 }, c.next))
  })

  it("gives uniform [0,1) and standard normal moments", () => {
    const r = makeRng(1)
    const n = 40000
    const u = Array.from({ length: n }, r.next)
    assert.ok(u.every((x) => x >= 0 && x < 1))
    assert.ok(Math.abs(u.reduce((s, x) => s + x, 0) / n - 0.5) < 0.01)
    const z = Array.from({ length: n }, r.normal)
    const mean = z.reduce((s, x) => s + x, 0) / n
    const variance = z.reduce((s, x) => s + (x - mean) ** 2, 0) / n
    assert.ok(Math.abs(mean) < 0.02 && Math.abs(variance - 1) < 0.03, `${mean} ${variance}`)
  })

  it("derives distinct seeds per part and order", () => {
    assert.equal(deriveSeed(5, 1, 2), deriveSeed(5, 1, 2))
    assert.notEqual(deriveSeed(5, 1, 2), deriveSeed(5, 2, 1))
    assert.notEqual(deriveSeed(5, 1), deriveSeed(6, 1))
  })
})
