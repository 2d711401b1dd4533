import { canonicalJson, Manifest, MANIFEST_FILE, type ManifestFile } from "@tomoprior/core"
import { readdir, stat } from "node:fs/promises"
import { join, relative } from "node:path"
import { type FileHasher, hashFileContent, hashText } from "./hash.ts"
import { readJsonFile } from "./json.ts"

export { MANIFEST_FILE }

/** The artifact's identity: a hash over its sorted (path, size, file hash) list. */
export const contentHash = (files: ReadonlyArray<ManifestFile>): Promise<string> =>
  hashText(canonicalJson(files.map((f) => [f.path, f.size, f.hash])))

/** A committed artifact whose files no longer match its manifest. */
export interface ArtifactDamage {
  readonly hash: string
  readonly dir: string
  /** One line per problem, e.g. "vol-0/voxels.raw: content changed since it was stored". */
  readonly problems: ReadonlyArray<string>
}

/**
 * Checks an artifact directory against its manifest. With a `hasher`, a quick check: unchanged
 * files (same inode, size and mtime as when they were hashed) are not re-read — what a run does
 * before serving a cached result. Without, every byte is re-read and files the manifest does not
 * list count too — what `verify` does. Returns the problems (none = intact).
 */
export const checkArtifact = async (dir: string, hash: string, hasher?: FileHasher): Promise<Array<string>> => {
  const manifest = await readJsonFile(join(dir, MANIFEST_FILE), Manifest)
  if (!manifest) return [`${MANIFEST_FILE}: missing or unreadable`]
  if (manifest.hash !== hash) return [`${MANIFEST_FILE}: names artifact ${manifest.hash}, but it is stored as ${hash}`]
  const problems: Array<string> = []
  if (!hasher && (await contentHash(manifest.files)) !== hash)
    problems.push(`${MANIFEST_FILE}: its file list was edited (it no longer hashes to ${hash})`)
  for (const f of manifest.files) {
    const p = join(dir, f.path)
    const s = await stat(p).catch(() => undefined)
    if (!s?.isFile()) {
      problems.push(`${f.path}: missing`)
      continue
    }
    if (s.size !== f.size) {
      problems.push(`${f.path}: ${s.size} bytes, the manifest says ${f.size}`)
      continue
    }
    const actual = hasher ? (await hasher.hash(p)).hash : await hashFileContent(p)
    if (actual !== f.hash) problems.push(`${f.path}: content changed since it was stored`)
  }
  if (!hasher) {
    const listed = new Set([MANIFEST_FILE, ...manifest.files.map((f) => f.path)])
    for (const p of await filesUnder(dir)) if (!listed.has(p)) problems.push(`${p}: not in the manifest (added after it was stored)`)
  }
  return problems
}

const filesUnder = async (dir: string, base = dir): Promise<Array<string>> => {
  const out: Array<string> = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await filesUnder(p, base)))
    else out.push(relative(base, p).split("\\").join("/"))
  }
  return out
}

/** A plan or stage-start reason for a damaged cached output. */
export const describeDamage = (d: { readonly port: string; readonly problems: ReadonlyArray<string> }): string =>
  `cached output \`${d.port}\` is damaged (${d.problems.slice(0, 2).join("; ")}${d.problems.length > 2 ? `; ${d.problems.length - 2} more` : ""})`
