import { test } from "node:test"
import assert from "node:assert/strict"
import type { Io } from "./command.ts"
import { humanRenderer, jsonRenderer } from "./render.ts"

const capture = () => {
  let out = ""
  const io: Io = { stdout: (t) => void (out += t), stderr: () => undefined, isTTY: true, cwd: "/work", env: {} }
  return { io, text: () => out }
}

test("on a TTY a running stage is drawn as a bar with rate and ETA, redrawn in place, and cleared when done", async () => {
  const { io, text } = capture()
  const r = humanRenderer(io, { tty: true })
  r.emit({ type: "stage-start", stage: "pretrain", uses: "pretrain-sorting", key: "k", reasons: ["no previous run"] })
  r.emit({ type: "stage-progress", stage: "pretrain", done: 0, total: 100, unit: "steps" })
  await new Promise((res) => setTimeout(res, 250))
  r.emit({ type: "stage-progress", stage: "pretrain", done: 50, total: 100, unit: "steps", metrics: { loss: 0.1234567 } })
  assert.match(text(), /▶ pretrain \(pretrain-sorting\) {2}no previous run\n/)
  assert.match(
    text(),
    /\x1b\[1F\x1b\[J {2}pretrain {2}\[#{12}-{12}\] {2}50% {2}50\/100 steps {2}\d+ steps\/s {2}ETA \d+\.\ds {2}loss 0\.1235\n$/
  )
  r.emit({ type: "stage-done", stage: "pretrain", key: "k", seconds: 75, outputs: {} })
  assert.match(text(), /\x1b\[1F\x1b\[J✓ pretrain {2}done in 1m15s\n$/)
})

test("without a TTY there are no escape codes; --json prints one event object per line", () => {
  const plain = capture()
  const r = humanRenderer({ ...plain.io, isTTY: false }, { tty: false })
  r.emit({ type: "stage-start", stage: "a", uses: "x", key: "k", reasons: ["forced"] })
  r.emit({ type: "stage-progress", stage: "a", done: 1, total: 4, unit: "files" })
  r.emit({
    type: "run-done",
    ok: true,
    seconds: 1,
    ran: 1,
    cached: 0,
    failed: 0,
    skipped: 0,
    outputs: { a: { out: "/work/.tomoprior/artifacts/abc" } }
  })
  assert.doesNotMatch(plain.text(), /\x1b/)
  assert.match(plain.text(), /done in 1\.0s: 1 ran, 0 cached\noutputs:\n {2}a\.out {2}\.tomoprior\/artifacts\/abc\n/)
  const json = capture()
  jsonRenderer(json.io).emit({ type: "stage-skipped", stage: "b", reason: "upstream `a` failed" })
  assert.deepEqual(JSON.parse(json.text()), { type: "stage-skipped", stage: "b", reason: "upstream `a` failed" })
})
