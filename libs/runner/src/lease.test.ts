import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit } from "effect"
import { acquireLease, type LeaseHandle, StoreBusy } from "./lease.ts"
import { Store } from "./store.ts"

const locks = () => mkdtempSync(join(tmpdir(), "tomoprior-lease-"))

/** Another run's lease, as that run would have written it, with its heartbeat `beatAgoMs` old. */
const holder = (dir: string, over: Record<string, unknown>, beatAgoMs = 0) => {
  const lease = { host: hostname(), pid: process.pid, runId: "other-run", startedAt: "2026-01-01T00:00:00.000Z", ...over }
  writeFileSync(join(dir, "run.lease"), JSON.stringify(lease))
  writeFileSync(
    join(dir, "other-run.heartbeat"),
    JSON.stringify({ runId: "other-run", at: new Date(Date.now() - beatAgoMs).toISOString() })
  )
}

const take = (dir: string, notices: Array<string>, waitSeconds = 0) =>
  Effect.runPromiseExit(
    Effect.scoped(Effect.asVoid(acquireLease(dir, { runId: "me", waitSeconds, notice: (m) => Effect.sync(() => void notices.push(m)) })))
  )

test("a free store is leased and released: neither the lease nor its heartbeat is left", async () => {
  const dir = locks()
  assert.ok(Exit.isSuccess(await take(dir, [])))
  assert.deepEqual(readdirSync(dir), [])
})

test("a live holder makes the second run fail with a message naming it", async () => {
  const dir = locks()
  holder(dir, {})
  const exit = await take(dir, [])
  assert.ok(Exit.isFailure(exit))
  const error = (exit.cause as any).reasons[0].error
  assert.ok(error instanceof StoreBusy)
  assert.match(
    error.message,
    new RegExp(`in use by run other-run \\(pid ${process.pid} on ${hostname()}, since 2026-01-01T00:00:00.000Z\\)`)
  )
  assert.deepEqual(readdirSync(dir).sort(), ["other-run.heartbeat", "run.lease"], "the refused run leaves no heartbeat of its own")
})

test("the lease of a dead process, or with a stale heartbeat, is broken with a message naming it", async () => {
  const dead = locks()
  holder(dead, { pid: 2 ** 22 + 12345 })
  const notices: Array<string> = []
  assert.ok(Exit.isSuccess(await take(dead, notices)))
  assert.match(notices[0], /broke the lease of run other-run \(pid 4206649 on .*\): its process is gone/)
  assert.deepEqual(readdirSync(dead), [], "the broken holder's heartbeat goes with its lease")

  const stale = locks()
  holder(stale, { host: "elsewhere" }, 60_000)
  const notices2: Array<string> = []
  assert.ok(Exit.isSuccess(await take(stale, notices2)))
  assert.match(notices2[0], /broke the lease of run other-run \(pid \d+ on elsewhere, .*\): no heartbeat for 60 s/)

  // A holder on another host that still beats is alive, however old its lease is.
  const beating = locks()
  holder(beating, { host: "elsewhere" }, 1_000)
  assert.ok(Exit.isFailure(await take(beating, [])))
})

test("a paused holder whose lease was broken finds out, and its heartbeats never overwrite the new holder's lease", async () => {
  const dir = locks()
  let handle: LeaseHandle | undefined
  let release: (() => void) | undefined
  const held = Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        handle = yield* acquireLease(dir, { runId: "paused", waitSeconds: 0, notice: () => Effect.void })
        yield* Effect.promise(() => new Promise<void>((r) => (release = r)))
      })
    )
  )
  while (!release) await new Promise((r) => setTimeout(r, 20))
  assert.equal(handle!.lost(), undefined)
  // What a run on another host does when "paused" sends no heartbeat for 30 s: move the lease aside and take it.
  writeFileSync(join(dir, "paused.heartbeat"), JSON.stringify({ runId: "paused", at: new Date(Date.now() - 60_000).toISOString() }))
  const lease = JSON.parse(readFileSync(join(dir, "run.lease"), "utf8"))
  writeFileSync(join(dir, "run.lease"), JSON.stringify({ ...lease, host: "elsewhere", runId: "breaker" }))
  // The paused holder's next heartbeat (every 3 s) notices.
  await new Promise((r) => setTimeout(r, 3_500))
  assert.match(handle!.lost() ?? "", /run breaker \(pid \d+ on elsewhere, .*\) broke this run's lease/)
  assert.equal(
    JSON.parse(readFileSync(join(dir, "run.lease"), "utf8")).runId,
    "breaker",
    "the lease file is never rewritten by a heartbeat"
  )
  release!()
  await held
  assert.equal(JSON.parse(readFileSync(join(dir, "run.lease"), "utf8")).runId, "breaker", "releasing a lost lease leaves the new holder's")
  assert.equal(existsSync(join(dir, "paused.heartbeat")), false)
})

test("a run whose lease was broken cannot commit: the store error says who holds it now, and no run record is written", async () => {
  const root = mkdtempSync(join(tmpdir(), "tomoprior-lease-store-"))
  const provenance = { pipeline: "p", stage: "s", uses: "u", key: "k1", startedAt: "", endedAt: "", tool: "test", extra: {} }
  const error = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.init
        yield* store.lease({ runId: "paused", waitSeconds: 0, notice: () => Effect.void })
        const staging = yield* store.staging("paused", "s", "k1", ["out"])
        writeFileSync(join(staging.outputs.out, "a.bin"), "x")
        const leaseFile = join(store.layout.locks, "run.lease")
        writeFileSync(leaseFile, JSON.stringify({ ...JSON.parse(readFileSync(leaseFile, "utf8")), host: "elsewhere", runId: "breaker" }))
        yield* Effect.sleep(3_500)
        return yield* Effect.flip(store.commit(staging, { out: "Report" }, provenance))
      })
    ).pipe(Effect.provide(Store.layer(root)))
  )
  assert.match(
    error.message,
    /run breaker \(pid \d+ on elsewhere, .*\) broke this run's lease .*; this run must not write to the store any more/
  )
  assert.deepEqual(readdirSync(join(root, "runs")), [])
})
