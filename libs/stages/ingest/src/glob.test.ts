import assert from "node:assert/strict"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { tempDir } from "@tomoprior/testkit"
import { expandBraces, isGlob, matchGlob } from "./glob.ts"

test("globs: *, ?, [..], ** and plain paths, relative to a base directory, sorted, hidden entries skipped", () => {
  const base = tempDir()
  for (const f of ["a/x1.nii.gz", "a/x2.nii.gz", "a/x10.nii", "a/.hidden.nii", "a/b/c/y.tif", "a/b/z.tiff", "d/w.nii.gz"]) {
    mkdirSync(join(base, f, ".."), { recursive: true })
    writeFileSync(join(base, f), "")
  }
  const rel = (pattern: string) => matchGlob(pattern, base).map((p) => p.slice(base.length + 1))
  assert.deepEqual(rel("a/*.nii.gz"), ["a/x1.nii.gz", "a/x2.nii.gz"])
  assert.deepEqual(rel("a/x?.nii*"), ["a/x1.nii.gz", "a/x2.nii.gz"])
  assert.deepEqual(rel("a/x[13]*"), ["a/x1.nii.gz", "a/x10.nii"])
  assert.deepEqual(rel("**/*.tif*"), ["a/b/c/y.tif", "a/b/z.tiff"])
  assert.deepEqual(rel("*/*.nii.gz"), ["a/x1.nii.gz", "a/x2.nii.gz", "d/w.nii.gz"])
  assert.deepEqual(rel("a/x10.nii"), ["a/x10.nii"])
  assert.deepEqual(rel("nothing/*.nii"), [])
})

test("brace alternatives: {a,b} (nested, empty, beside other wildcards) match their union once, sorted; {name} stays literal", () => {
  const base = tempDir()
  for (const f of ["ct_a.nii.gz", "ct_a_seg.nii.gz", "ct_b.nii.gz", "mr.nii.gz", "x/ct_c.nii.gz", "{name}.nii"]) {
    mkdirSync(join(base, f, ".."), { recursive: true })
    writeFileSync(join(base, f), "")
  }
  const rel = (pattern: string) => matchGlob(pattern, base).map((p) => p.slice(base.length + 1))
  assert.deepEqual(rel("{ct_b,ct_a}.nii.gz"), ["ct_a.nii.gz", "ct_b.nii.gz"])
  assert.deepEqual(rel("{ct_a{,_seg},mr}.nii.gz"), ["ct_a.nii.gz", "ct_a_seg.nii.gz", "mr.nii.gz"])
  assert.deepEqual(rel("{.,x}/ct_[bc].nii.gz"), ["ct_b.nii.gz", "x/ct_c.nii.gz"])
  assert.deepEqual(rel("{ct_*,ct_a*}.nii.gz"), ["ct_a.nii.gz", "ct_a_seg.nii.gz", "ct_b.nii.gz"])
  assert.deepEqual(rel("{name}.nii"), ["{name}.nii"])
  assert.deepEqual(expandBraces("a{b,c{d,e}}f{g}"), ["abf{g}", "acdf{g}", "acef{g}"])
  assert.equal(isGlob("{name}_seg.nii.gz"), false)
  assert.equal(isGlob("{a,b}.nii"), true)
})
