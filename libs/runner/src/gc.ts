import { Effect } from "effect"
import { existsSync, readdirSync } from "node:fs"
import { readdir, rm } from "node:fs/promises"
import { join } from "node:path"
import { allLockEntries, readLock } from "./lockfile.ts"
import { type RootCopy, Store, type StoreLayout, diskUsage } from "./store.ts"
import { storeStep } from "./store-error.ts"

export interface GcReport {
  readonly lockFiles: ReadonlyArray<string>
  readonly removed: ReadonlyArray<{ readonly path: string; readonly bytes: number }>
  readonly bytes: number
  readonly dryRun: boolean
}

/**
 * Lock files under `<cwd>/pipelines/` plus every lock file this store has written (see `RootCopy`);
 * a lock file that no longer exists pins nothing.
 */
const findLockFiles = (cwd: string, copies: ReadonlyArray<RootCopy>): Array<string> => {
  const dir = join(cwd, "pipelines")
  const local = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".lock.json"))
        .map((f) => join(dir, f))
    : []
  return [...new Set([...local, ...copies.map((c) => c.lockFile)])].filter((f) => existsSync(f)).sort()
}

/**
 * Deletes what no lock file references: artifacts, run records, scratch work directories, temp
 * outputs and the files of earlier cluster jobs. A lock file pins what it lists now and what this store's copy of it lists (another
 * store's run may have rewritten the shared file). Call it while holding the store's lease.
 */
export const collectGarbage = (cwd: string, dryRun: boolean) =>
  Effect.gen(function* () {
    const { layout, rootCopies } = yield* Store
    const copies = yield* rootCopies
    return yield* storeStep(dryRun ? "measure unreferenced entries" : "delete unreferenced entries", layout.root, () =>
      sweep(layout, cwd, copies, dryRun)
    )
  })

const sweep = async (layout: StoreLayout, cwd: string, copies: ReadonlyArray<RootCopy>, dryRun: boolean): Promise<GcReport> => {
  const lockFiles = findLockFiles(cwd, copies)
  const locks = [
    ...(await Promise.all(lockFiles.map((f) => readLock(f)))),
    ...copies.filter((c) => lockFiles.includes(c.lockFile)).map((c) => c.lock)
  ]
  const keys = new Set<string>()
  const hashes = new Set<string>()
  for (const lock of locks)
    for (const e of lock ? allLockEntries(lock) : []) {
      keys.add(e.key)
      for (const h of Object.values(e.outputs)) hashes.add(h)
    }
  const victims: Array<string> = []
  const list = async (d: string) => (existsSync(d) ? await readdir(d) : [])
  for (const h of await list(layout.artifacts)) if (!hashes.has(h)) victims.push(join(layout.artifacts, h))
  for (const r of await list(layout.runs)) if (!keys.has(r.replace(/\.json$/, ""))) victims.push(join(layout.runs, r))
  for (const w of await list(layout.work)) if (!keys.has(w)) victims.push(join(layout.work, w))
  for (const t of await list(layout.tmp)) victims.push(join(layout.tmp, t))
  // Logs of cluster jobs that failed in earlier runs: gc holds the lease, so no run is using them.
  for (const j of await list(layout.jobs)) victims.push(join(layout.jobs, j))
  const removed = await Promise.all(victims.map(async (path) => ({ path, bytes: await diskUsage(path) })))
  if (!dryRun) for (const v of removed) await rm(v.path, { recursive: true, force: true })
  return { lockFiles, removed, bytes: removed.reduce((s, r) => s + r.bytes, 0), dryRun }
}
