import assert from "node:assert/strict"
import { test } from "node:test"
import type { Io } from "../command.ts"
import { UsageError } from "../command.ts"
import { bench } from "./bench.ts"

const capture = () => {
  const out: Array<string> = []
  const err: Array<string> = []
  const io: Io = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), isTTY: false, cwd: process.cwd(), env: {} }
  return { io, out, err }
}

test("bench --only runs just the named section of a bench", async () => {
  const { io, out } = capture()
  assert.equal(await bench.run(["compute", "--quick", "--json", "--only", "matmul, 1 thread"], io), 0)
  const records = out
    .join("")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { metric: string; value: number; config: { threads: number } })
  assert.deepEqual(
    records.map((r) => [r.metric, r.config.threads]),
    [["matmul_gflops", 1]]
  )
  assert.ok(records[0].value > 0)
})

test("bench --only that matches no section names the sections there are", async () => {
  await assert.rejects(bench.run(["compute", "--only", "no such part"], capture().io), (e: unknown) => {
    assert.ok(e instanceof UsageError)
    assert.match(e.message, /no section of bench compute matches 'no such part'; sections: matmul, 1 thread; .*training step/)
    return true
  })
})

test("bench --only on a bench without sections, and an unknown bench, are usage errors", async () => {
  await assert.rejects(bench.run(["runner", "--only", "x"], capture().io), /bench runner has no sections to pick with --only/)
  await assert.rejects(bench.run(["nope"], capture().io), /no benchmark 'nope'; available: compute, ingest, pretrain, runner/)
})
