import { test } from "node:test"
import assert from "node:assert/strict"
import { linkSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { xxhash128 } from "hash-wasm"
import { FileHasher, hashFileContent } from "./hash.ts"

const dir = () => mkdtempSync(join(tmpdir(), "tomoprior-hash-"))

test("streamed file hash equals the one-shot xxhash128 of the same bytes across chunk boundaries", async () => {
  const bytes = Buffer.alloc(9 * 1024 * 1024 + 17)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 13)) & 255
  const file = join(dir(), "big.bin")
  writeFileSync(file, bytes)
  assert.equal(await hashFileContent(file), await xxhash128(bytes))
})

test("an unchanged (dev, inode, size, mtime) is never re-read; a hard link hashes for free; a new mtime re-reads", async () => {
  const d = dir()
  const file = join(d, "a.bin")
  writeFileSync(file, "original")
  const mtime = new Date("2026-01-02T03:04:05.000Z") // whole seconds: utimes cannot restore nanoseconds
  utimesSync(file, mtime, mtime)
  const cacheFile = join(d, "hashes.json")
  const first = await FileHasher.open(cacheFile)
  const h1 = (await first.hash(file)).hash
  assert.equal(h1, await xxhash128("original"))
  await first.save()

  // Same size and mtime, different bytes: a cache hit proves the file was not read again.
  writeFileSync(file, "ORIGINAL")
  utimesSync(file, mtime, mtime)
  const reopened = await FileHasher.open(cacheFile)
  assert.equal((await reopened.hash(file)).hash, h1)
  linkSync(file, join(d, "link.bin"))
  assert.equal((await reopened.hash(join(d, "link.bin"))).hash, h1)

  utimesSync(file, mtime, new Date(mtime.getTime() + 5000))
  assert.equal((await reopened.hash(file)).hash, await xxhash128("ORIGINAL"))
})

test("a corrupt hash cache reads as empty", async () => {
  const d = dir()
  writeFileSync(join(d, "hashes.json"), "{not json")
  writeFileSync(join(d, "x"), "x")
  const h = await FileHasher.open(join(d, "hashes.json"))
  assert.equal((await h.hash(join(d, "x"))).hash, await xxhash128("x"))
})
