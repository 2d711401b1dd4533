import assert from "node:assert/strict"
import { test } from "node:test"
import { BASELINE_GREY, methodColor, methodKey, methodScale, shades, sortMethods } from "./palette.ts"

test("a method's color depends on its name only, with inputs' suffixes and baseline aliases folded", () => {
  assert.equal(methodKey("simclr (PC1 of embeddings)"), "simclr")
  assert.equal(methodKey("Random init"), "none")
  assert.equal(methodColor("simclr (PC1 of embeddings)"), methodColor("simclr"))
  assert.equal(methodColor("random init"), methodColor("none"))
  const known = ["none", "sorting", "simclr", "logistic"].map(methodColor)
  assert.equal(new Set([...known, BASELINE_GREY]).size, 5, "known methods and the baseline grey are all different")
  for (const c of known) assert.match(c, /^#[0-9A-F]{6}$/)
})

test("the scale pins each method to its color whatever the subset and order of methods", () => {
  const a = methodScale(["simclr", "none", "sorting"])
  const b = methodScale(["sorting", "newcomer", "simclr", "sorting"])
  assert.deepEqual(a.domain, ["none", "sorting", "simclr"])
  assert.deepEqual(b.domain, ["sorting", "simclr", "newcomer"])
  const colorIn = (s: typeof a, m: string) => s.range[s.domain.indexOf(m)]
  for (const m of ["sorting", "simclr"]) assert.equal(colorIn(a, m), colorIn(b, m))
  // an unknown method takes a spare color, never a known method's
  assert.ok(!["none", "sorting", "simclr", "logistic"].map(methodColor).includes(methodColor("newcomer")))
  assert.equal(methodColor("newcomer"), methodColor("newcomer"))
  assert.deepEqual(sortMethods(["zeta", "alpha", "logistic", "none"]), ["none", "logistic", "alpha", "zeta"])
})

test("labels of one method (variants) get shades of its color, the first the color itself", () => {
  const s = methodScale(["sorting (margin=0.5)", "none", "sorting (margin=0.1)"])
  assert.deepEqual(s.domain, ["none", "sorting (margin=0.1)", "sorting (margin=0.5)"])
  assert.deepEqual(s.range, [methodColor("none"), ...shades(methodColor("sorting"), 2).reverse()])
})

test("shades run from a light tint to the color itself", () => {
  assert.deepEqual(shades("#0072B2", 1), ["#0072B2"])
  const s = shades("#0072B2", 4)
  assert.equal(s.length, 4)
  assert.equal(s[3], "#0072B2")
  const lightness = (hex: string) => [1, 3, 5].reduce((sum, i) => sum + parseInt(hex.slice(i, i + 2), 16), 0)
  for (let i = 1; i < s.length; i++) assert.ok(lightness(s[i]) < lightness(s[i - 1]), s.join(" "))
  // black (the "none" baseline) shades through greys
  assert.deepEqual(shades("#000000", 2), ["#999999", "#000000"])
})
