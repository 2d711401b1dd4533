import { Schema } from "effect"
import { createReadStream } from "node:fs"
import { stat } from "node:fs/promises"
import { createXXHash128, xxhash128 } from "hash-wasm"
import { readJsonFile, writeJsonAtomic } from "./json.ts"

/** xxhash128 of a string, hex. Used for cache keys and artifact content hashes. */
export const hashText = (text: string): Promise<string> => xxhash128(text)

/** Streams a file through xxhash128 so a multi-GB volume never sits in memory. */
export const hashFileContent = async (path: string): Promise<string> => {
  const hasher = await createXXHash128()
  hasher.init()
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hasher.update(chunk as Buffer)
  return hasher.digest("hex")
}

const HashCacheFile = Schema.Record(Schema.String, Schema.String)

/** Entries beyond this are dropped oldest-first, so the cache file stays small. */
const MAX_ENTRIES = 200_000

/**
 * File hashes remembered by (device, inode, size, mtime in ns): an unchanged file is never re-read.
 * Hard links share an inode, so an output that hard-links an input hashes for free.
 */
export class FileHasher {
  private readonly entries = new Map<string, string>()
  private dirty = false
  private loaded: Promise<void> | undefined

  private constructor(private readonly file: string | undefined) {}

  /** A hasher backed by a JSON file (missing or unreadable = empty cache), or purely in memory. */
  static async open(file?: string): Promise<FileHasher> {
    const hasher = new FileHasher(file)
    await hasher.load()
    return hasher
  }

  /**
   * A hasher that reads its file on first use, not now: a run that had to wait for the store's
   * lease then starts from what the previous holder saved.
   */
  static deferred(file: string): FileHasher {
    return new FileHasher(file)
  }

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      if (!this.file) return
      const known = await readJsonFile(this.file, HashCacheFile)
      for (const [k, v] of Object.entries(known ?? {})) this.entries.set(k, v)
    })()
    return this.loaded
  }

  async hash(path: string): Promise<{ hash: string; size: number }> {
    await this.load()
    const s = await stat(path, { bigint: true })
    const id = `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`
    const known = this.entries.get(id)
    if (known !== undefined) {
      // Re-insert so eviction drops the least recently used entries.
      this.entries.delete(id)
      this.entries.set(id, known)
      return { hash: known, size: Number(s.size) }
    }
    const hash = await hashFileContent(path)
    this.entries.set(id, hash)
    this.dirty = true
    return { hash, size: Number(s.size) }
  }

  async save(): Promise<void> {
    if (!this.file || !this.dirty) return
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string)
    await writeJsonAtomic(this.file, Object.fromEntries(this.entries))
    this.dirty = false
  }
}
