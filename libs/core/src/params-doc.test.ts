import assert from "node:assert/strict"
import { test } from "node:test"
import { Schema } from "effect"
import { describeParams, paramsMarkdown } from "./params-doc.ts"
import { withDefault } from "./schema.ts"

const Params = Schema.Struct({
  size: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(2)).annotate({ description: "Square size" }), 96),
  share: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1))),
  scale: withDefault(Schema.Literals(["unit", "none"]), "unit"),
  window: Schema.optionalKey(Schema.Tuple([Schema.Finite, Schema.Finite]).annotate({ description: "Clip | range" })),
  names: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
}).check(
  Schema.makeFilter((p) => p.share === undefined || p.window === undefined, { description: "`share` and `window` exclude each other" })
)

test("a params schema documents each field's type, default and description, and its cross-field rules", () => {
  assert.deepEqual(describeParams(Params), {
    params: [
      { name: "size", type: "integer ≥ 2", default: "96", description: "Square size" },
      { name: "share", type: "number in (0, 1]" },
      { name: "scale", type: '"unit" | "none"', default: '"unit"' },
      { name: "window", type: "[number, number]", description: "Clip | range" },
      { name: "names", type: "mapping to string" }
    ],
    rules: ["`share` and `window` exclude each other"]
  })
})

test("the Markdown table escapes pipes and lists the rules under it", () => {
  assert.equal(
    paramsMarkdown(Params),
    [
      "| param | type | default | meaning |",
      "| --- | --- | --- | --- |",
      "| `size` | integer ≥ 2 | `96` | Square size |",
      "| `share` | number in (0, 1] | — |  |",
      '| `scale` | "unit" \\| "none" | `"unit"` |  |',
      "| `window` | [number, number] | — | Clip \\| range |",
      "| `names` | mapping to string | — |  |",
      "",
      "Rules checked before anything runs:",
      "",
      "- `share` and `window` exclude each other"
    ].join("\n")
  )
})
