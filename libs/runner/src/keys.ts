import { InputError, type StageDef, type StageError, canonicalJson } from "@tomoprior/core"
import { Effect } from "effect"
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { type FileHasher, hashText } from "./hash.ts"

/** Bumped when what goes into a cache key changes, so old keys stop matching instead of lying. */
export const KEY_SCHEMA_VERSION = 1

/** Everything a cache key is made of; also what the lock file records so `plan` can say what changed. */
export interface KeyParts {
  readonly uses: string
  readonly version: string
  /** Hash of the stage package's source files. */
  readonly code: string
  /** Decoded params (defaults applied). */
  readonly params: unknown
  /** Input port → content hash (a list for `many` ports). */
  readonly inputs: Readonly<Record<string, string | ReadonlyArray<string>>>
  /** External file (relative to the pipeline directory) → content hash. */
  readonly external: Readonly<Record<string, string>>
}

export const cacheKey = (parts: KeyParts): Promise<string> => hashText(canonicalJson({ keySchema: KEY_SCHEMA_VERSION, ...parts }))

/** Per hasher (one per command), so a long-lived process sees edits made between commands. */
const codeHashes = new WeakMap<FileHasher, Map<string, Promise<string>>>()

/**
 * Hash of the implementation: every non-test source file under `src/` of the package containing
 * the stage's module and of every workspace package it depends on, transitively (an edit to
 * libs/volume must invalidate ingest). Installed packages (under node_modules) count through their
 * version in the lock file, not here. A module not under a package's `src/` is hashed alone.
 * Memoised per hasher.
 */
export const stageCodeHash = (stage: StageDef, hasher: FileHasher): Promise<string> => {
  const file = stage.source.startsWith("file:") ? fileURLToPath(stage.source) : resolve(stage.source)
  const owner = packageDirOf(file)
  const pkg = owner && file.startsWith(join(owner, "src") + sep) ? owner : undefined
  const id = pkg ?? file
  const memo = codeHashes.get(hasher) ?? new Map<string, Promise<string>>()
  codeHashes.set(hasher, memo)
  let h = memo.get(id)
  if (!h) {
    h = (async () => {
      const roots = pkg ? workspaceClosure(pkg) : [dirname(file)]
      const files = pkg ? roots.flatMap((r) => listSources(join(r, "src"))) : [file]
      const base = pkg ? commonDir(roots) : dirname(file)
      const entries = await Promise.all(files.map(async (f) => [relative(base, f).split("\\").join("/"), (await hasher.hash(f)).hash]))
      return hashText(canonicalJson(entries))
    })()
    memo.set(id, h)
  }
  return h
}

/** The package and the workspace packages it depends on (resolved through node_modules symlinks). */
const workspaceClosure = (pkg: string): Array<string> => {
  const seen = new Set<string>()
  const visit = (dir: string) => {
    if (seen.has(dir)) return
    seen.add(dir)
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> }
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      const target = findInstalled(dir, name)
      if (target && !target.split(sep).includes("node_modules")) visit(target)
    }
  }
  visit(pkg)
  return [...seen].sort()
}

const findInstalled = (from: string, name: string): string | undefined => {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name)
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate)
    if (dirname(dir) === dir) return undefined
  }
}

const commonDir = (dirs: ReadonlyArray<string>): string => {
  let common = dirs[0]
  while (!dirs.every((d) => d === common || d.startsWith(common + sep))) common = dirname(common)
  return common
}

const packageDirOf = (file: string): string | undefined => {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir
    if (dirname(dir) === dir) return undefined
  }
}

const listSources = (dir: string): Array<string> => {
  if (!existsSync(dir)) return []
  const out: Array<string> = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...listSources(p))
    else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !/\.test\.[mc]?[tj]s$/.test(e.name)) out.push(p)
  }
  return out.sort()
}

/** Hashes of the files outside the store that a stage declares it reads. */
export const externalHashes = (
  stage: StageDef,
  params: unknown,
  pipelineDir: string,
  hasher: FileHasher
): Effect.Effect<Record<string, string>, StageError> =>
  stage.externalFiles
    ? Effect.flatMap(stage.externalFiles(params, pipelineDir), (files) =>
        Effect.forEach([...files].sort(), (f) => {
          const path = resolve(pipelineDir, f)
          return Effect.tryPromise({
            try: () => hasher.hash(path),
            catch: (e) => new InputError({ file: path, problem: `cannot read it: ${e instanceof Error ? e.message : String(e)}` })
          }).pipe(Effect.map(({ hash }) => [relative(pipelineDir, path).split("\\").join("/"), hash] as const))
        }).pipe(Effect.map((pairs) => Object.fromEntries(pairs)))
      )
    : Effect.succeed({})
