import {
  type ArtifactKind,
  type ArtifactRef,
  type Manifest as ManifestT,
  type ManifestFile,
  type Provenance,
  Manifest,
  MANIFEST_SCHEMA_VERSION
} from "@tomoprior/core"
import { Context, Effect, Layer, Schema, type Scope } from "effect"
import { existsSync } from "node:fs"
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises"
import { join, relative, resolve } from "node:path"
import { type ArtifactDamage, checkArtifact, contentHash, MANIFEST_FILE } from "./artifact-check.ts"
import { FileHasher, hashText } from "./hash.ts"
import { atPath, readJsonFile, writeJsonAtomic } from "./json.ts"
import { type LeaseHandle, type LeaseOptions, type StoreBusy, acquireLease } from "./lease.ts"
import { LockFile } from "./lockfile.ts"
import { type StoreError, storeStep } from "./store-error.ts"
import { adoptStoreUmask, makeReadOnly } from "./store-permissions.ts"

export { contentHash, MANIFEST_FILE } from "./artifact-check.ts"

export const DEFAULT_STORE = ".tomoprior"

export const RunRecord = Schema.Struct({
  key: Schema.String,
  stage: Schema.String,
  uses: Schema.String,
  /** Output port → artifact content hash. */
  outputs: Schema.Record(Schema.String, Schema.String),
  createdAt: Schema.String
})
export type RunRecord = typeof RunRecord.Type

/**
 * The store's own copy of a lock file as this store last wrote it. A lock file lives beside its
 * pipeline and is shared by every store the pipeline runs against, so a run on another store
 * rewrites it; the copy keeps this store's artifacts pinned for gc as long as the lock file exists.
 */
export const RootCopy = Schema.Struct({ lockFile: Schema.String, lock: LockFile })
export type RootCopy = typeof RootCopy.Type

/**
 * Where everything of a store lives:
 *   artifacts/<contentHash>/   a finished artifact: the stage's files (read-only) + manifest.json
 *   runs/<cacheKey>.json       cache key → output hashes; written only after every output is in artifacts/
 *   tmp/<runId>/               outputs being written (deleted on failure, interruption, or the next run)
 *   work/<cacheKey>/           a stage's scratch space that survives an interrupted attempt
 *   hashes.json                file-hash cache
 *   roots/<hash>.json          this store's copy of each lock file it wrote (gc roots)
 *   locks/run.lease            the writer lease (and its holder's heartbeat file)
 *   jobs/<runId>/<stage>/      a cluster job's files: script, log, progress events, exit code (kept when it failed)
 * A crash at any point leaves at worst orphans that gc removes, never a run record that lies.
 * A store whose root is group-writable is shared by the group (see `adoptStoreUmask`).
 */
export interface StoreLayout {
  readonly root: string
  readonly artifacts: string
  readonly runs: string
  readonly tmp: string
  readonly work: string
  readonly locks: string
  readonly jobs: string
  readonly hashesFile: string
  readonly rootsDir: string
}

export const storeLayout = (dir: string): StoreLayout => {
  const root = resolve(dir)
  return {
    root,
    artifacts: join(root, "artifacts"),
    runs: join(root, "runs"),
    tmp: join(root, "tmp"),
    work: join(root, "work"),
    locks: join(root, "locks"),
    jobs: join(root, "jobs"),
    hashesFile: join(root, "hashes.json"),
    rootsDir: join(root, "roots")
  }
}

export const artifactDir = (layout: StoreLayout, hash: string): string => join(layout.artifacts, hash)

/** What the store holds for a cache key. */
export type Lookup =
  | { readonly status: "hit"; readonly outputs: Record<string, ArtifactRef> }
  /** The run record exists but an artifact it names no longer matches its manifest. */
  | { readonly status: "damaged"; readonly damage: ReadonlyArray<ArtifactDamage & { readonly port: string }> }
  | { readonly status: "miss" }

/** The directories of one attempt at a stage. */
export interface Staging {
  /** Output port → an empty directory under tmp/, moved into artifacts/ by `commit`. */
  readonly outputs: Readonly<Record<string, string>>
  /** work/<key>: kept if the attempt is interrupted, so the next attempt can resume; removed by `commit`. */
  readonly workDir: string
}

/**
 * The content-addressed store (layout in `StoreLayout`). Only the run holding the lease writes;
 * everything it writes appears atomically, so readers never mistake a partial result for a hit.
 */
export class Store extends Context.Service<
  Store,
  {
    readonly layout: StoreLayout
    /** Creates the store's directories; a dry run never calls it, so it writes nothing. */
    readonly init: Effect.Effect<void, StoreError>
    /** The single writer lease, held until the scope closes; `commit` fails once it is lost. */
    readonly lease: (options: LeaseOptions) => Effect.Effect<void, StoreBusy | StoreError, Scope.Scope>
    /** Removes temp outputs of earlier runs; only while holding the lease. */
    readonly clearTmp: Effect.Effect<void, StoreError>
    /**
     * A hit: the run record exists and every artifact it names matches its manifest (files that
     * did not change since they were hashed are not re-read).
     */
    readonly lookup: (key: string) => Effect.Effect<Lookup>
    /** Fresh, empty output directories for one attempt; whatever `commit` did not take is removed when the scope closes. */
    readonly staging: (
      runId: string,
      stageId: string,
      key: string,
      ports: ReadonlyArray<string>
    ) => Effect.Effect<Staging, StoreError, Scope.Scope>
    /**
     * Hashes each finished output, writes its manifest, makes its files read-only and renames it into artifacts/, then writes
     * the run record (`provenance.key`), then drops the work directory. Not interruptible half-way.
     * A failure (a full disk) leaves no run record: at worst an artifact nothing points to, which gc removes.
     */
    readonly commit: (
      staging: Staging,
      kinds: Readonly<Record<string, ArtifactKind>>,
      provenance: Provenance
    ) => Effect.Effect<Record<string, ArtifactRef>, StoreError>
    /** The file-hash cache, remembered by (device, inode, size, mtime). */
    readonly hashes: FileHasher
    /** Saves the hash cache and removes the run's temp directory. */
    readonly endRun: (runId: string) => Effect.Effect<void, StoreError>
    /** Keeps this store's copy of a lock file it wrote (a gc root). */
    readonly recordRoot: (lockFile: string, lock: LockFile) => Effect.Effect<void, StoreError>
    readonly rootCopies: Effect.Effect<ReadonlyArray<RootCopy>, StoreError>
  }
>()("@tomoprior/runner/Store") {
  /** The store in a local (or shared network) directory. */
  static readonly layer = (dir: string): Layer.Layer<Store> => Layer.sync(Store, () => localStore(storeLayout(dir)))
}

const localStore = (layout: StoreLayout): Store["Service"] => {
  const hashes = FileHasher.deferred(layout.hashesFile)
  const tmpOf = (runId: string) => join(layout.tmp, runId)
  let held: LeaseHandle | undefined
  return Store.of({
    layout,
    hashes,
    init: storeStep("create the store", layout.root, async () => {
      await mkdir(layout.root, { recursive: true })
      await adoptStoreUmask(layout.root)
      for (const d of [layout.artifacts, layout.runs, layout.tmp, layout.work, layout.locks, layout.jobs, layout.rootsDir])
        await mkdir(d, { recursive: true })
    }),
    lease: (options) =>
      Effect.acquireRelease(
        Effect.tap(acquireLease(layout.locks, options), (handle) => Effect.sync(() => void (held = handle))),
        () => Effect.sync(() => void (held = undefined))
      ).pipe(Effect.asVoid),
    clearTmp: storeStep("clear the temporary outputs of earlier runs", layout.tmp, async () => {
      await mkdir(layout.tmp, { recursive: true })
      for (const entry of await readdir(layout.tmp))
        await rm(join(layout.tmp, entry), { recursive: true, force: true }).catch((e: NodeJS.ErrnoException) => {
          // On NFS a file another node still has open lingers as .nfsXXXX until it is closed; gc takes it later.
          if (e.code !== "EBUSY" && e.code !== "ENOTEMPTY") throw e
        })
    }),
    lookup: (key) => Effect.promise(() => lookup(layout, key, hashes)),
    staging: (runId, stageId, key, ports) => {
      const root = join(tmpOf(runId), stageId.replace(/[^A-Za-z0-9_.=,-]/g, "_"))
      const staging: Staging = {
        outputs: Object.fromEntries(ports.map((port) => [port, join(root, port)])),
        workDir: join(layout.work, key)
      }
      return Effect.acquireRelease(
        storeStep(`prepare the output directories of \`${stageId}\``, root, async () => {
          await rm(root, { recursive: true, force: true })
          for (const d of Object.values(staging.outputs)) await mkdir(d, { recursive: true })
          await mkdir(staging.workDir, { recursive: true })
          return staging
        }),
        // Best effort: what is left under tmp/ is cleared by the next run or gc.
        () => Effect.promise(() => rm(root, { recursive: true, force: true }).catch(() => undefined))
      )
    },
    commit: (staging, kinds, provenance) =>
      Effect.uninterruptible(
        storeStep(`store the outputs of \`${provenance.stage}\``, layout.root, async () => {
          const lost = held?.lost()
          if (lost) throw Object.assign(new Error(`${lost}; this run must not write to the store any more`), { path: layout.locks })
          const refs: Record<string, ArtifactRef> = {}
          for (const [port, kind] of Object.entries(kinds))
            refs[port] = await commitArtifact(layout, staging.outputs[port], kind, provenance, hashes)
          const record: RunRecord = {
            key: provenance.key,
            stage: provenance.stage,
            uses: provenance.uses,
            outputs: Object.fromEntries(Object.entries(refs).map(([k, r]) => [k, r.hash])),
            createdAt: provenance.endedAt
          }
          await writeJsonAtomic(join(layout.runs, `${record.key}.json`), record)
          await rm(staging.workDir, { recursive: true, force: true })
          return refs
        })
      ),
    endRun: (runId) =>
      storeStep("finish the run (save the hash cache, remove temporary outputs)", layout.root, () =>
        Promise.all([hashes.save(), rm(tmpOf(runId), { recursive: true, force: true })]).then(() => undefined)
      ),
    recordRoot: (lockFile, lock) =>
      storeStep("keep the store's copy of the lock file", layout.rootsDir, async () =>
        writeJsonAtomic(join(layout.rootsDir, `${await hashText(lockFile)}.json`), { lockFile, lock })
      ),
    rootCopies: storeStep("read the store's lock-file copies", layout.rootsDir, async () => {
      const names = existsSync(layout.rootsDir) ? await readdir(layout.rootsDir) : []
      const copies = await Promise.all(
        names.filter((n) => n.endsWith(".json")).map((n) => readJsonFile(join(layout.rootsDir, n), RootCopy))
      )
      return copies.filter((c): c is RootCopy => c !== undefined)
    })
  })
}

const lookup = async (layout: StoreLayout, key: string, hasher: FileHasher): Promise<Lookup> => {
  const record = await readJsonFile(join(layout.runs, `${key}.json`), RunRecord)
  if (!record || record.key !== key) return { status: "miss" }
  const outputs: Record<string, ArtifactRef> = {}
  const damage: Array<ArtifactDamage & { port: string }> = []
  for (const [port, hash] of Object.entries(record.outputs)) {
    const ref = await readArtifact(layout, hash, record.stage)
    if (!ref) return { status: "miss" }
    const problems = await checkArtifact(ref.dir, hash, hasher)
    if (problems.length) damage.push({ port, hash, dir: ref.dir, problems })
    outputs[port] = ref
  }
  return damage.length ? { status: "damaged", damage } : { status: "hit", outputs }
}

const readArtifact = async (layout: StoreLayout, hash: string, producer: string): Promise<ArtifactRef | undefined> => {
  const dir = artifactDir(layout, hash)
  const manifest = await readJsonFile(join(dir, MANIFEST_FILE), Manifest)
  if (!manifest || manifest.hash !== hash) return undefined
  return { kind: manifest.kind, dir, hash, manifest, producer }
}

/**
 * Hashes a finished output directory, writes its manifest and renames it into artifacts/. An
 * artifact with the same content already there is kept and the new copy deleted, unless it was
 * damaged since it was stored (a forced run, or a code change with the same result): then the new
 * copy replaces it, so the run record never points at a damaged artifact.
 */
const commitArtifact = async (
  layout: StoreLayout,
  dir: string,
  kind: ArtifactKind,
  provenance: Provenance,
  hasher: FileHasher
): Promise<ArtifactRef> => {
  const files = await manifestFiles(dir, hasher)
  if (files.some((f) => f.path === MANIFEST_FILE))
    throw new Error(`the stage wrote ${MANIFEST_FILE} into its output; that name is reserved for the runner`)
  const hash = await contentHash(files)
  const manifest: ManifestT = { kind, schemaVersion: MANIFEST_SCHEMA_VERSION, hash, files, provenance }
  const manifestFile = join(dir, MANIFEST_FILE)
  await writeFile(manifestFile, JSON.stringify(manifest, null, 1)).catch((e) => Promise.reject(atPath(e, manifestFile)))
  await makeReadOnly(dir)
  const target = artifactDir(layout, hash)
  try {
    await rename(dir, target)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if ((code !== "ENOTEMPTY" && code !== "EEXIST") || !existsSync(join(target, MANIFEST_FILE))) throw e
    if ((await checkArtifact(target, hash, hasher)).length === 0) await rm(dir, { recursive: true, force: true })
    else {
      await rm(target, { recursive: true, force: true })
      await rename(dir, target)
    }
  }
  return (await readArtifact(layout, hash, provenance.stage))!
}

/** Every file under `dir` with size and hash, sorted by path (`/`-separated). */
export const manifestFiles = async (dir: string, hasher: FileHasher): Promise<Array<ManifestFile>> => {
  const paths: Array<string> = []
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else paths.push(p)
    }
  }
  await walk(dir)
  const files = await Promise.all(paths.map(async (p) => ({ path: relative(dir, p).split("\\").join("/"), ...(await hasher.hash(p)) })))
  return files.map((f) => ({ path: f.path, size: f.size, hash: f.hash })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** Total bytes under a path (0 if missing). */
export const diskUsage = async (p: string): Promise<number> => {
  const s = await stat(p).catch(() => undefined)
  if (!s) return 0
  if (!s.isDirectory()) return s.size
  let total = 0
  for (const e of await readdir(p)) total += await diskUsage(join(p, e))
  return total
}
