import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit } from "effect"
import { acquireLease, StoreBusy } from "./lease.ts"

const locks = () => mkdtempSync(join(tmpdir(), "tomoprior-lease-"))
const lease = (over: Record<string, unknown>) =>
  JSON.stringify({
    host: hostname(),
    pid: process.pid,
    runId: "other-run",
    startedAt: "2026-01-01T00:00:00.000Z",
    heartbeat: new Date().toISOString(),
    ...over
  })

const take = (dir: string, notices: Array<string>, waitSeconds = 0) =>
  Effect.runPromiseExit(
    Effect.scoped(Effect.asVoid(acquireLease(dir, { runId: "me", waitSeconds, notice: (m) => Effect.sync(() => void notices.push(m)) })))
  )

test("a free store is leased and released", async () => {
  const dir = locks()
  assert.ok(Exit.isSuccess(await take(dir, [])))
  assert.equal(existsSync(join(dir, "run.lease")), false)
})

test("a live holder makes the second run fail with a message naming it", async () => {
  const dir = locks()
  writeFileSync(join(dir, "run.lease"), lease({}))
  const exit = await take(dir, [])
  assert.ok(Exit.isFailure(exit))
  const error = (exit.cause as any).reasons[0].error
  assert.ok(error instanceof StoreBusy)
  assert.match(
    error.message,
    new RegExp(`in use by run other-run \\(pid ${process.pid} on ${hostname()}, since 2026-01-01T00:00:00.000Z\\)`)
  )
})

test("the lease of a dead process, or with a stale heartbeat, is broken with a message naming it", async () => {
  const dead = locks()
  writeFileSync(join(dead, "run.lease"), lease({ pid: 2 ** 22 + 12345 }))
  const notices: Array<string> = []
  assert.ok(Exit.isSuccess(await take(dead, notices)))
  assert.match(notices[0], /broke the lease of run other-run \(pid 4206649 on .*\): its process is gone/)

  const stale = locks()
  writeFileSync(join(stale, "run.lease"), lease({ host: "elsewhere", heartbeat: new Date(Date.now() - 60_000).toISOString() }))
  const notices2: Array<string> = []
  assert.ok(Exit.isSuccess(await take(stale, notices2)))
  assert.match(notices2[0], /broke the lease of run other-run \(pid \d+ on elsewhere, .*\): no heartbeat for 60 s/)
})
