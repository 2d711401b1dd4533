import { it } from "node:test"
import assert from "node:assert/strict"
import { mkdtemp, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit } from "effect"
import { readTrainerState, writeTrainerState } from "./state-file.ts"
import type { TrainerState } from "@tomoprior/core"

const state: TrainerState = {
  step: 42,
  names: ["enc_stem_conv/kernel", "score_map/bias"],
  shapes: [[3, 3, 1, 2], [1]],
  weights: Float32Array.from({ length: 19 }, (_, i) => i / 7 - 1),
  m: Float32Array.from({ length: 19 }, (_, i) => i * 1e-3),
  v: Float32Array.from({ length: 19 }, (_, i) => i * 1e-6),
  batchNorm: Float32Array.of(0.5, -0.25, 1.5, 2),
  bnNames: ["enc_stem_bn"]
}

it("a trainer state survives a write/read round trip exactly; a truncated file is a TrainerError", async () => {
  const path = join(await mkdtemp(join(tmpdir(), "state-")), "trainer.state")
  await Effect.runPromise(writeTrainerState(path, state))
  assert.deepEqual(await Effect.runPromise(readTrainerState(path)), state)
  const bytes = await readFile(path)
  await writeFile(path, bytes.subarray(0, bytes.length - 4))
  const exit = await Effect.runPromiseExit(readTrainerState(path))
  assert.ok(Exit.isFailure(exit) && String(exit.cause).includes("truncated"))
})
