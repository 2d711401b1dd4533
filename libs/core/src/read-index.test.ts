import assert from "node:assert/strict"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { test } from "node:test"
import { Effect, Exit } from "effect"
import { VolumeSetIndex } from "./artifacts.ts"
import { InputError } from "./errors.ts"
import { readArtifactIndex } from "./read-index.ts"

const dirWith = (text: string | undefined): string => {
  const dir = mkdtempSync(join(tmpdir(), "tomoprior-core-"))
  if (text !== undefined) writeFileSync(join(dir, "index.json"), text)
  return dir
}

const failure = async (dir: string): Promise<InputError> => {
  const exit = await Effect.runPromiseExit(readArtifactIndex(dir, "VolumeSet", VolumeSetIndex))
  assert.ok(Exit.isFailure(exit), "expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")?.error
  assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`)
  assert.equal(error.file, join(dir, "index.json"))
  return error
}

test("readArtifactIndex decodes a valid index with the kind's schema", async () => {
  const index = { kind: "VolumeSet", volumes: [], labelNames: { "0": "background", "1": "lung" } }
  const decoded = await Effect.runPromise(readArtifactIndex(dirWith(JSON.stringify(index)), "VolumeSet", VolumeSetIndex))
  assert.deepEqual(decoded, index)
})

test("a missing, truncated or foreign index.json is an InputError naming the file and the problem", async () => {
  assert.match((await failure(dirWith(undefined))).problem, /cannot read the VolumeSet index: .*ENOENT/)
  assert.match((await failure(dirWith('{"kind": "VolumeSet", "volu'))).problem, /not a valid VolumeSet index/)
  assert.match(
    (await failure(dirWith(JSON.stringify({ kind: "Encoder", model: "m" })))).problem,
    /not a valid VolumeSet index: Expected "VolumeSet"\s+at \["kind"\]/
  )
})
