import { test } from "node:test"
import assert from "node:assert/strict"
import { canonicalJson } from "./canonical.ts"

test("canonicalJson sorts keys at every depth and drops undefined members", () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 2, y: 1 }], c: undefined } }), '{"a":{"d":[1,{"y":1,"z":2}]},"b":1}')
})

test("canonicalJson writes -0 as 0 and rejects NaN and Infinity", () => {
  assert.equal(canonicalJson(-0), "0")
  assert.throws(() => canonicalJson({ lr: Number.NaN }), /non-finite/)
  assert.throws(() => canonicalJson([Infinity]), /non-finite/)
})

test("canonicalJson of equal values is equal whatever the key order", () => {
  assert.equal(canonicalJson({ x: 1, y: [true, "s"] }), canonicalJson({ y: [true, "s"], x: 1 }))
})
