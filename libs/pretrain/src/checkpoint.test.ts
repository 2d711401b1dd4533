import { describe, it } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts"

describe("pre-training checkpoints", () => {
  it("round-trip loop state, plain fields and float arrays exactly; absent means undefined", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ckpt-"))
    assert.equal(await readCheckpoint(dir), undefined)
    const state = {
      step: 7,
      names: ["a", "b"],
      weights: Float32Array.from([1, 2, 3, Math.PI]),
      m: Float32Array.from([-0.5]),
      v: new Float32Array(0)
    }
    await writeCheckpoint(dir, { step: 7, note: "x" }, state)
    const back = await readCheckpoint<{ step: number; note: string }, typeof state>(dir)
    assert.deepEqual(back, { loop: { step: 7, note: "x" }, state })
  })
})
