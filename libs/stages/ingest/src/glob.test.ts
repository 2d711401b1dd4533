import assert from "node:assert/strict"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { tempDir } from "@tomoprior/testkit"
import { matchGlob } from "./glob.ts"

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
