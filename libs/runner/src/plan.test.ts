import { test } from "node:test"
import assert from "node:assert/strict"
import { diffParams } from "./plan.ts"

test("param differences are reported leaf by leaf with old → new values", () => {
  assert.deepEqual(
    diffParams(
      { lr: 0.001, opt: { beta: 0.9, eps: 1e-8 }, window: [-1000, 400] },
      { lr: 0.0003, opt: { beta: 0.99, eps: 1e-8 }, window: [-1000, 400] }
    ),
    ["param `lr` 0.001 → 0.0003", "param `opt.beta` 0.9 → 0.99"]
  )
  assert.deepEqual(diffParams({ a: 1 }, { a: 1, b: "x" }), ['param `b` (unset) → "x"'])
  assert.deepEqual(diffParams({ k: [1, 2] }, { k: [1, 2] }), [])
})
