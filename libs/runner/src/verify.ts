import { Manifest } from "@tomoprior/core"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import { readdir, rm } from "node:fs/promises"
import { join } from "node:path"
import { type ArtifactDamage, checkArtifact, MANIFEST_FILE } from "./artifact-check.ts"
import { readJsonFile } from "./json.ts"
import { allLockEntries, type LockFile } from "./lockfile.ts"
import { RunRecord, Store, type StoreLayout, artifactDir } from "./store.ts"
import { storeStep } from "./store-error.ts"

export interface VerifyReport {
  readonly checked: number
  readonly files: number
  readonly bytes: number
  /** With the names that use each damaged artifact (`stage.port` from a lock file, else the producing stage). */
  readonly damaged: ReadonlyArray<ArtifactDamage & { readonly names: ReadonlyArray<string> }>
  /** Artifacts a lock file names that are not in the store (the next run recomputes them). */
  readonly absent: ReadonlyArray<{ readonly hash: string; readonly names: ReadonlyArray<string> }>
}

const runRecords = async (layout: StoreLayout): Promise<Array<{ file: string; record: RunRecord }>> => {
  const names = existsSync(layout.runs) ? await readdir(layout.runs) : []
  const records = await Promise.all(
    names
      .filter((n) => n.endsWith(".json"))
      .map(async (n) => ({ file: join(layout.runs, n), record: await readJsonFile(join(layout.runs, n), RunRecord) }))
  )
  return records.filter((r): r is { file: string; record: RunRecord } => r.record !== undefined)
}

/**
 * Re-hashes artifacts against their manifests: every artifact in the store, or only those a lock
 * file names (`lock`, e.g. `verify --pipeline`). Reads only; safe while a run is going on.
 */
export const verifyArtifacts = (lock?: LockFile) =>
  Effect.gen(function* () {
    const { layout } = yield* Store
    return yield* storeStep("verify the store", layout.artifacts, async (): Promise<VerifyReport> => {
      const names = new Map<string, Array<string>>()
      const name = (hash: string, n: string) => names.set(hash, [...new Set([...(names.get(hash) ?? []), n])])
      if (lock) {
        for (const [section, stages] of [
          ["", lock.stages] as const,
          ...Object.entries(lock.variants ?? {}).map(([v, s]) => [v, s.stages] as const)
        ])
          for (const [stage, e] of Object.entries(stages))
            for (const [port, hash] of Object.entries(e.outputs)) name(hash, `${stage}.${port}${section ? ` (variant ${section})` : ""}`)
      } else
        for (const { record } of await runRecords(layout))
          for (const [port, hash] of Object.entries(record.outputs)) name(hash, `${record.stage}.${port}`)
      const stored = existsSync(layout.artifacts) ? await readdir(layout.artifacts) : []
      const wanted = lock ? [...new Set(allLockEntries(lock).flatMap((e) => Object.values(e.outputs)))] : stored
      const present = new Set(stored)
      const damaged: Array<ArtifactDamage & { names: ReadonlyArray<string> }> = []
      let files = 0
      let bytes = 0
      for (const hash of wanted.filter((h) => present.has(h)).sort()) {
        const dir = artifactDir(layout, hash)
        const problems = await checkArtifact(dir, hash)
        const manifest = await readJsonFile(join(dir, MANIFEST_FILE), Manifest)
        files += manifest?.files.length ?? 0
        bytes += manifest?.files.reduce((s, f) => s + f.size, 0) ?? 0
        if (problems.length) damaged.push({ hash, dir, problems, names: names.get(hash) ?? [] })
      }
      const absent = wanted.filter((h) => !present.has(h)).map((hash) => ({ hash, names: names.get(hash) ?? [] }))
      return { checked: wanted.length - absent.length, files, bytes, damaged, absent }
    })
  })

/**
 * Removes damaged artifacts and every run record naming one, so the next run recomputes exactly the
 * stages that produced them (a recomputed artifact with the same content leaves everything
 * downstream cached). Call it while holding the store's lease. Returns the stages whose records went.
 */
export const evictArtifacts = (hashes: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { layout } = yield* Store
    return yield* storeStep("evict damaged artifacts", layout.artifacts, async () => {
      const gone = new Set(hashes)
      const stages: Array<string> = []
      // Records first: an artifact without a record is an orphan gc removes; a record without its artifact is a miss either way.
      for (const { file, record } of await runRecords(layout))
        if (Object.values(record.outputs).some((h) => gone.has(h))) {
          await rm(file, { force: true })
          stages.push(record.stage)
        }
      for (const h of gone) await rm(artifactDir(layout, h), { recursive: true, force: true })
      return stages.sort()
    })
  })
