import { Effect, Schema } from "effect"
import { link, mkdir, rename, stat, unlink, writeFile } from "node:fs/promises"
import { hostname } from "node:os"
import { join } from "node:path"
import { readJsonFile, writeJsonAtomic } from "./json.ts"
import { storeStep } from "./store-error.ts"

/** Who holds a store. Written once when the lease is taken and never rewritten (see `acquireLease`). */
export const Lease = Schema.Struct({
  host: Schema.String,
  pid: Schema.Number,
  runId: Schema.String,
  startedAt: Schema.String
})
export type Lease = typeof Lease.Type

/** The holder's sign of life, in a file of its own next to the lease. */
const Heartbeat = Schema.Struct({ runId: Schema.String, at: Schema.String })

/**
 * A lease whose heartbeat is older than this is considered abandoned (e.g. its host died). Hosts
 * sharing a store compare their clocks here, so they must be NTP-synchronised (cluster nodes are).
 */
export const STALE_AFTER_MS = 30_000
const HEARTBEAT_MS = 3_000
const POLL_MS = 200

export const LEASE_FILE = "run.lease"
const heartbeatFile = (locksDir: string, runId: string) => join(locksDir, `${runId}.heartbeat`)

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
const staleness = async (locksDir: string, l: Lease, now: number): Promise<string | undefined> => {
  if (l.host === hostname() && !pidAlive(l.pid)) return "its process is gone"
  const beat = await readJsonFile(heartbeatFile(locksDir, l.runId), Heartbeat)
  const age = now - Date.parse(beat?.at ?? l.startedAt)
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

/** A held lease. */
export interface LeaseHandle {
  /**
   * Why this run no longer holds the store, if another run broke its lease (this process was
   * paused or cut off from the store for longer than `STALE_AFTER_MS`): it must stop writing.
   */
  readonly lost: () => string | undefined
}

/**
 * Takes the single writer lease of a store (`locks/run.lease`), safe on NFS and without `flock`:
 * the lease is created by hard-linking a fully written temp file, so it appears atomically and
 * complete or not at all, and exactly one of several hosts racing for it wins. The lease file is
 * never rewritten: the holder proves it is alive by renaming a fresh `<runId>.heartbeat` into place
 * every few seconds, so a holder that was paused cannot overwrite the lease of a run that broke
 * its own in the meantime; it finds out instead (`LeaseHandle.lost`). A dead holder's lease is
 * moved aside (rename: only one breaker wins) and reported through `notice`. Released when the
 * scope closes.
 */
export const acquireLease = (locksDir: string, options: LeaseOptions) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const file = join(locksDir, LEASE_FILE)
      const beatFile = heartbeatFile(locksDir, options.runId)
      const mine: Lease = { host: hostname(), pid: process.pid, runId: options.runId, startedAt: new Date().toISOString() }
      const beat = () => writeJsonAtomic(beatFile, { runId: mine.runId, at: new Date().toISOString() })
      const deadline = Date.now() + options.waitSeconds * 1000
      let announced = false
      for (;;) {
        const taken = yield* storeStep("take the store's lease", file, async () => {
          await mkdir(locksDir, { recursive: true })
          // The heartbeat exists before the lease does, so a waiter never judges a new lease by its age alone.
          await beat()
          return tryCreate(locksDir, file, mine)
        })
        if (taken) break
        const holder = yield* Effect.promise(() => readJsonFile(file, Lease))
        if (!holder) {
          yield* Effect.interruptible(Effect.sleep(POLL_MS)) // it is being replaced or released right now
          continue
        }
        const stale = yield* Effect.promise(() => staleness(locksDir, holder, Date.now()))
        if (stale) {
          const aside = join(locksDir, `broken-${holder.runId}-${mine.runId}.lease`)
          const moved = yield* Effect.promise(() =>
            rename(file, aside).then(
              () => true,
              () => false
            )
          )
          if (moved) {
            yield* options.notice(`broke the lease of ${describeLease(holder)}: ${stale}`)
            yield* Effect.promise(() =>
              Promise.all([unlink(aside), unlink(heartbeatFile(locksDir, holder.runId))].map((p) => p.catch(() => undefined)))
            )
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
      const state = { inFlight: Promise.resolve(), lost: undefined as string | undefined }
      const timer = setInterval(() => {
        state.inFlight = (async () => {
          await beat()
          const current = await readJsonFile(file, Lease)
          if (current?.runId !== mine.runId && state.lost === undefined)
            state.lost = current
              ? `${describeLease(current)} broke this run's lease (no heartbeat reached the store for ${STALE_AFTER_MS / 1000} s)`
              : "this run's lease was removed from the store"
        })().catch(() => undefined)
      }, HEARTBEAT_MS)
      timer.unref()
      const handle: LeaseHandle = { lost: () => state.lost }
      return { file, beatFile, mine, timer, state, handle }
    }).pipe(
      // Busy, failed or interrupted while waiting: no heartbeat of a run that never held the store.
      Effect.onError(() => Effect.promise(() => unlink(heartbeatFile(locksDir, options.runId)).catch(() => undefined)))
    ),
    ({ file, beatFile, mine, timer, state }) =>
      Effect.promise(async () => {
        clearInterval(timer)
        await state.inFlight
        const current = await readJsonFile(file, Lease)
        if (current?.runId === mine.runId) await unlink(file).catch(() => undefined)
        await unlink(beatFile).catch(() => undefined)
      })
  ).pipe(Effect.map(({ handle }) => handle))

/** The lease as its holder wrote it, or undefined when the store is free. */
export const readLease = (locksDir: string): Promise<Lease | undefined> => readJsonFile(join(locksDir, LEASE_FILE), Lease)

const tryCreate = async (locksDir: string, file: string, lease: Lease): Promise<boolean> => {
  const tmp = join(locksDir, `.${lease.runId}.${lease.host}.${lease.pid}.tmp`)
  await writeFile(tmp, JSON.stringify(lease))
  try {
    await link(tmp, file)
    return true
  } catch (e) {
    // Over NFS a link can be made while its reply is lost, and the retried call then fails with
    // EEXIST: the temp file's link count says whether the lease is ours.
    if ((await stat(tmp).catch(() => undefined))?.nlink === 2) return true
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false
    throw e
  } finally {
    await unlink(tmp).catch(() => undefined)
  }
}
