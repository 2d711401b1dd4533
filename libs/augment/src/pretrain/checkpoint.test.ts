import { describe, it } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts"

describe("pre-training checkpoints", () => {
  it("round-trip loop state and arrays exactly; absent means undefined", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ckpt-"))
    assert.equal(await readCheckpoint(dir), undefined)
    const state = {
      weights: [{ name: "a/kernel", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, Math.PI]) }],
      optimizer: [{ name: "iter", shape: [], data: Float32Array.from([7]) }]
    }
    await writeCheckpoint(dir, { step: 7, note: "x" }, state)
    const back = await readCheckpoint<{ step: number; note: string }>(dir)
    assert.deepEqual(back, { loop: { step: 7, note: "x" }, state })
  })
})
