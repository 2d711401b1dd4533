import assert from "node:assert/strict"
import { readFileSync, writeFileSync } from "node:fs"
import { paramsMarkdown } from "@tomoprior/core"
import type { Schema } from "effect"

const BEGIN = "<!-- params: generated from the params schema by the stage test; UPDATE_READMES=1 rewrites it -->"
const END = "<!-- /params -->"

/**
 * Fails unless the parameter table of a stage README (between the BEGIN and END markers) is the one
 * core's `paramsMarkdown` generates from the stage's schema. With UPDATE_READMES=1 in the
 * environment it rewrites the table instead: `UPDATE_READMES=1 node scripts/test.mjs libs/stages`.
 */
export const checkParamsTable = (readme: string | URL, schema: Schema.Top): void => {
  const text = readFileSync(readme, "utf8")
  const start = text.indexOf(BEGIN)
  const end = text.indexOf(END)
  assert.ok(start >= 0 && end > start, `${String(readme)} has no parameter table; add the lines\n${BEGIN}\n${END}`)
  const written = text.slice(start + BEGIN.length, end).trim()
  const generated = paramsMarkdown(schema)
  if (written === generated) return
  if (process.env.UPDATE_READMES === "1") {
    writeFileSync(readme, `${text.slice(0, start + BEGIN.length)}\n${generated}\n${text.slice(end)}`)
    return
  }
  assert.equal(written, generated, `${String(readme)}: the parameter table is stale; rerun the test with UPDATE_READMES=1`)
}
