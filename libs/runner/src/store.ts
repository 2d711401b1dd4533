import { type ArtifactKind, type ArtifactRef, type Manifest as ManifestT, type ManifestFile, type Provenance, canonicalJson, Manifest, MANIFEST_SCHEMA_VERSION } from "@tomoprior/core"
import { Schema } from "effect"
import { existsSync } from "node:fs"
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises"
import { join, relative, resolve } from "node:path"
import { type FileHasher, hashText } from "./hash.ts"
import { readJsonFile, writeJsonAtomic } from "./json.ts"
import { LockFile } from "./lockfile.ts"

export const DEFAULT_STORE = ".tomoprior"
export const MANIFEST_FILE = "manifest.json"

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
 * The content-addressed store:
 *   artifacts/<contentHash>/   a finished artifact: the stage's files + manifest.json
 *   runs/<cacheKey>.json       cache key → output hashes; written only after every output is in artifacts/
 *   tmp/<runId>/               outputs being written (deleted on failure, interruption, or the next run)
 *   work/<cacheKey>/           a stage's scratch space that survives an interrupted attempt
 *   hashes.json                file-hash cache
 *   roots/<hash>.json          this store's copy of each lock file it wrote (gc roots)
 *   locks/run.lease            the writer lease
 * A crash at any point leaves at worst orphans that gc removes, never a run record that lies.
 */
export class Store {
  readonly root: string
  constructor(root: string) {
    this.root = resolve(root)
  }
  get artifacts() {
    return join(this.root, "artifacts")
  }
  get runs() {
    return join(this.root, "runs")
  }
  get tmp() {
    return join(this.root, "tmp")
  }
  get work() {
    return join(this.root, "work")
  }
  get locks() {
    return join(this.root, "locks")
  }
  get hashesFile() {
    return join(this.root, "hashes.json")
  }
  get rootsDir() {
    return join(this.root, "roots")
  }
  artifactDir(hash: string) {
    return join(this.artifacts, hash)
  }

  exists(): boolean {
    return existsSync(this.root)
  }

  async init(): Promise<void> {
    for (const d of [this.artifacts, this.runs, this.tmp, this.work, this.locks, this.rootsDir]) await mkdir(d, { recursive: true })
  }

  /** A cache hit: the run record exists and every artifact it names has its manifest. */
  async lookup(key: string): Promise<Record<string, ArtifactRef> | undefined> {
    const record = await readJsonFile(join(this.runs, `${key}.json`), RunRecord)
    if (!record || record.key !== key) return undefined
    const out: Record<string, ArtifactRef> = {}
    for (const [port, hash] of Object.entries(record.outputs)) {
      const ref = await this.readArtifact(hash, record.stage)
      if (!ref) return undefined
      out[port] = ref
    }
    return out
  }

  async readArtifact(hash: string, producer: string): Promise<ArtifactRef | undefined> {
    const dir = this.artifactDir(hash)
    const manifest = await readJsonFile(join(dir, MANIFEST_FILE), Manifest)
    if (!manifest || manifest.hash !== hash) return undefined
    return { kind: manifest.kind, dir, hash, manifest, producer }
  }

  /**
   * Hashes a finished output directory, writes its manifest and renames it into artifacts/. An
   * artifact with the same content already there is kept and the new copy deleted.
   */
  async commitArtifact(dir: string, kind: ArtifactKind, provenance: Provenance, hasher: FileHasher): Promise<ArtifactRef> {
    const files = await manifestFiles(dir, hasher)
    if (files.some((f) => f.path === MANIFEST_FILE))
      throw new Error(`the stage wrote ${MANIFEST_FILE} into its output; that name is reserved for the runner`)
    const hash = await contentHash(files)
    const manifest: ManifestT = { kind, schemaVersion: MANIFEST_SCHEMA_VERSION, hash, files, provenance }
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 1))
    const target = this.artifactDir(hash)
    try {
      await rename(dir, target)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if ((code !== "ENOTEMPTY" && code !== "EEXIST") || !existsSync(join(target, MANIFEST_FILE))) throw e
      await rm(dir, { recursive: true, force: true })
    }
    return (await this.readArtifact(hash, provenance.stage))!
  }

  async writeRunRecord(record: RunRecord): Promise<void> {
    await writeJsonAtomic(join(this.runs, `${record.key}.json`), record)
  }

  async recordRoot(lockFile: string, lock: LockFile): Promise<void> {
    await writeJsonAtomic(join(this.rootsDir, `${await hashText(lockFile)}.json`), { lockFile, lock })
  }

  async rootCopies(): Promise<Array<RootCopy>> {
    const names = existsSync(this.rootsDir) ? await readdir(this.rootsDir) : []
    const copies = await Promise.all(names.filter((n) => n.endsWith(".json")).map((n) => readJsonFile(join(this.rootsDir, n), RootCopy)))
    return copies.filter((c): c is RootCopy => c !== undefined)
  }

  /** Removes all temp output directories; only called while holding the lease. */
  async clearTmp(): Promise<void> {
    await rm(this.tmp, { recursive: true, force: true })
    await mkdir(this.tmp, { recursive: true })
  }
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

/** The artifact's identity: a hash over its sorted (path, size, file hash) list. */
export const contentHash = (files: ReadonlyArray<ManifestFile>): Promise<string> =>
  hashText(canonicalJson(files.map((f) => [f.path, f.size, f.hash])))

/** Total bytes under a path (0 if missing). */
export const diskUsage = async (p: string): Promise<number> => {
  const s = await stat(p).catch(() => undefined)
  if (!s) return 0
  if (!s.isDirectory()) return s.size
  let total = 0
  for (const e of await readdir(p)) total += await diskUsage(join(p, e))
  return total
}
