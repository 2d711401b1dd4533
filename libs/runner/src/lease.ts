import { Effect, Schema } from "effect"
import { link, mkdir, rename, unlink, writeFile } from "node:fs/promises"
import { hostname } from "node:os"
import { join } from "node:path"
import { readJsonFile, writeJsonAtomic } from "./json.ts"
import { storeStep } from "./store-error.ts"

export const Lease = Schema.Struct({
  host: Schema.String,
  pid: Schema.Number,
  runId: Schema.String,
  startedAt: Schema.String,
  heartbeat: Schema.String
})
export type Lease = typeof Lease.Type

/** A lease whose heartbeat is older than this is considered abandoned (e.g. its host died). */
export const STALE_AFTER_MS = 30_000
const HEARTBEAT_MS = 3_000
const POLL_MS = 200

/** Another run holds the store. */
export class StoreBusy extends Schema.TaggedError<StoreBusy>()("StoreBusy", {
  holder: Lease,
  waitedSeconds: Schema.Number
}) {
  override get message(): string {
    const h = this.holder
    return (
      `the store is in use by run ${h.runId} (pid ${h.pid} on ${h.host}, since ${h.startedAt})` +
      (this.waitedSeconds > 0 ? `; gave up after waiting ${this.waitedSeconds} s` : "") +
      "\n  hint: wait for it to finish, pass --wait SECONDS, or use another --store"
    )
  }
}

export const describeLease = (h: Lease): string => `run ${h.runId} (pid ${h.pid} on ${h.host}, since ${h.startedAt})`

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Why a lease may be broken, or undefined when its owner looks alive. */
const staleness = (l: Lease, now: number): string | undefined => {
  if (l.host === hostname() && !pidAlive(l.pid)) return "its process is gone"
  const age = now - Date.parse(l.heartbeat)
  if (!(age <= STALE_AFTER_MS)) return `no heartbeat for ${Math.round(age / 1000)} s`
  return undefined
}

export interface LeaseOptions {
  readonly runId: string
  /** How long to wait for a live holder before failing with `StoreBusy`. */
  readonly waitSeconds: number
  /** Told when the lease of a dead holder is broken, and when waiting starts. */
  readonly notice: (message: string) => Effect.Effect<void>
}

/**
 * Takes the single writer lease of a store (`locks/run.lease`): created by hard-linking a fully
 * written temp file, so the lease appears atomically and complete or not at all. A dead owner's
 * lease is moved aside (rename: only one breaker wins) and reported through `notice`.
 * The lease is refreshed every few seconds and released when the scope closes.
 */
export const acquireLease = (locksDir: string, options: LeaseOptions) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const file = join(locksDir, "run.lease")
      const startedAt = new Date().toISOString()
      const mine: Lease = { host: hostname(), pid: process.pid, runId: options.runId, startedAt, heartbeat: startedAt }
      const deadline = Date.now() + options.waitSeconds * 1000
      let announced = false
      for (;;) {
        const taken = yield* storeStep("take the store's lease", file, () =>
          tryCreate(locksDir, file, { ...mine, heartbeat: new Date().toISOString() })
        )
        if (taken) break
        const holder = yield* Effect.promise(() => readJsonFile(file, Lease))
        if (!holder) {
          yield* Effect.interruptible(Effect.sleep(POLL_MS)) // it is being replaced or released right now
          continue
        }
        const stale = staleness(holder, Date.now())
        if (stale) {
          const aside = join(locksDir, `broken-${holder.runId}-${process.pid}.lease`)
          const moved = yield* Effect.promise(() =>
            rename(file, aside).then(
              () => true,
              () => false
            )
          )
          if (moved) {
            yield* options.notice(`broke the lease of ${describeLease(holder)}: ${stale}`)
            yield* Effect.promise(() => unlink(aside).catch(() => undefined))
          }
          continue
        }
        if (Date.now() >= deadline) return yield* new StoreBusy({ holder, waitedSeconds: options.waitSeconds })
        if (!announced) {
          announced = true
          yield* options.notice(`waiting up to ${options.waitSeconds} s for ${describeLease(holder)}`)
        }
        // Only the waiting is interruptible (Ctrl-C while another run holds the store); holding the lease is not.
        yield* Effect.interruptible(Effect.sleep(POLL_MS))
      }
      const beat = { inFlight: Promise.resolve() }
      const timer = setInterval(() => {
        beat.inFlight = writeJsonAtomic(file, { ...mine, heartbeat: new Date().toISOString() }).catch(() => undefined)
      }, HEARTBEAT_MS)
      timer.unref()
      return { file, mine, timer, beat }
    }),
    ({ file, mine, timer, beat }) =>
      Effect.promise(async () => {
        clearInterval(timer)
        await beat.inFlight
        const current = await readJsonFile(file, Lease)
        if (current?.runId === mine.runId) await unlink(file).catch(() => undefined)
      })
  )

const tryCreate = async (locksDir: string, file: string, lease: Lease): Promise<boolean> => {
  await mkdir(locksDir, { recursive: true })
  const tmp = join(locksDir, `.${lease.runId}.tmp`)
  await writeFile(tmp, JSON.stringify(lease))
  try {
    await link(tmp, file)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false
    throw e
  } finally {
    await unlink(tmp).catch(() => undefined)
  }
}
