import type { StageDef } from "@tomoprior/core"
import { Context, Effect, Layer } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, isAbsolute, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"

export interface RegisteredStage {
  readonly stage: StageDef
  /** Package (or file) it came from, shown by `tomoprior stages`. */
  readonly origin: string
}

export interface LoadProblem {
  readonly origin: string
  readonly message: string
}

/** Stage types by name, as loaded from the workspace and a pipeline's `plugins:`. */
export class StageTypes {
  readonly stages = new Map<string, RegisteredStage>()
  /** Packages that failed to load; shown when a pipeline names a stage type nobody provides. */
  readonly problems: Array<LoadProblem> = []

  add(origin: string, exported: unknown): string | undefined {
    const list = (exported as { stages?: unknown } | undefined)?.stages
    if (!Array.isArray(list)) return "it does not export `stages` (an array of stage definitions)"
    for (const stage of list as Array<StageDef>) {
      if (typeof stage?.name !== "string" || typeof stage.run !== "function")
        return "its `stages` export holds something that is not a stage"
      if (!this.stages.has(stage.name)) this.stages.set(stage.name, { stage, origin })
    }
    return undefined
  }

  get(name: string): StageDef | undefined {
    return this.stages.get(name)?.stage
  }

  names(): Array<string> {
    return [...this.stages.keys()].sort()
  }
}

/** The repository root: the nearest directory above `from` whose package.json declares workspaces. */
export const findRepoRoot = (from: string): string | undefined => {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json")
    if (existsSync(pkg) && "workspaces" in JSON.parse(readFileSync(pkg, "utf8"))) return dir
    if (dirname(dir) === dir) return undefined
  }
}

const entryOf = (pkgDir: string): string => {
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { exports?: unknown; main?: string }
  const dot = typeof pkg.exports === "string" ? pkg.exports : (pkg.exports as Record<string, unknown> | undefined)?.["."]
  const target =
    typeof dot === "string"
      ? dot
      : ((dot as Record<string, string> | undefined)?.import ?? (dot as Record<string, string> | undefined)?.default)
  return join(pkgDir, target ?? pkg.main ?? "src/index.ts")
}

/**
 * Imports every stage library of the workspace: each directory under `libs/stages/` with a
 * package.json. A library that fails to import is recorded, not fatal — only pipelines that use
 * its stages are affected.
 */
export const loadWorkspaceStages = async (registry: StageTypes, repoRoot: string): Promise<void> => {
  const dir = join(repoRoot, "libs", "stages")
  const libs = existsSync(dir)
    ? readdirSync(dir)
        .filter((d) => existsSync(join(dir, d, "package.json")))
        .sort()
    : []
  await Promise.all(
    libs.map(async (lib) => {
      const pkgDir = join(dir, lib)
      const origin = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).name ?? lib
      try {
        const problem = registry.add(origin, await import(pathToFileURL(entryOf(pkgDir)).href))
        if (problem) registry.problems.push({ origin, message: problem })
      } catch (e) {
        registry.problems.push({ origin, message: `failed to load: ${(e as Error).message?.split("\n")[0]}` })
      }
    })
  )
}

/**
 * Loads a `plugins:` entry: a package name resolved like Node does from the pipeline's directory,
 * then each of `alsoFrom` (the current directory, tomoprior's own installation), or a path
 * starting with `.` relative to the pipeline file. Returns a problem description, or undefined.
 */
export const loadPlugin = async (
  registry: StageTypes,
  name: string,
  pipelineDir: string,
  alsoFrom: ReadonlyArray<string> = []
): Promise<string | undefined> => {
  let entry: string | undefined
  if (name.startsWith(".") || isAbsolute(name)) {
    const p = resolve(pipelineDir, name)
    entry = existsSync(join(p, "package.json")) ? entryOf(p) : existsSync(p) ? p : undefined
    if (!entry) return `plugin path not found: ${p}`
  } else {
    const bases = [...new Set([pipelineDir, ...alsoFrom])]
    for (const base of bases) {
      try {
        entry = createRequire(join(base, "noop.js")).resolve(name)
        break
      } catch {
        // try the next base directory
      }
    }
    if (!entry) return `package \`${name}\` is not installed (looked from ${bases.join(", ")})`
  }
  try {
    const problem = registry.add(name, await import(pathToFileURL(entry).href))
    return problem ? `plugin \`${name}\`: ${problem}` : undefined
  } catch (e) {
    return `plugin \`${name}\` failed to load: ${(e as Error).message?.split("\n")[0]}`
  }
}

const workspaceStages = new Map<string, Promise<StageTypes>>()

/** The workspace's stage libraries, imported once per process. */
export const workspaceRegistry = (repoRoot: string): Promise<StageTypes> => {
  let r = workspaceStages.get(repoRoot)
  if (!r) {
    r = (async () => {
      const types = new StageTypes()
      await loadWorkspaceStages(types, repoRoot)
      return types
    })()
    workspaceStages.set(repoRoot, r)
  }
  return r
}

/** What a pipeline draws its stage types from. */
export interface StageSources {
  /** The pipeline's `plugins:` entries, in order. */
  readonly plugins: ReadonlyArray<string>
  /** Stage types needed; the workspace libraries are imported only when the plugins lack one. */
  readonly uses: ReadonlyArray<string>
  /** Plugin paths and package names resolve from here first. */
  readonly pipelineDir: string
}

/** A `plugins:` entry that failed to load: its index in the list and why. */
export interface PluginProblem {
  readonly plugin: number
  readonly message: string
}

/**
 * The stage types of a pipeline: its plugins first, then — only when it names a stage type its
 * plugins do not provide — the workspace's stage libraries. So a plugin-only pipeline never imports
 * the workspace libraries, and a plugin's stage shadows a workspace stage of the same name.
 */
const typesFor = async (repoRoot: string, sources: StageSources): Promise<{ types: StageTypes; pluginProblems: Array<PluginProblem> }> => {
  const types = new StageTypes()
  const pluginProblems: Array<PluginProblem> = []
  for (const [plugin, name] of sources.plugins.entries()) {
    const message = await loadPlugin(types, name, sources.pipelineDir, [process.cwd(), repoRoot])
    if (message) pluginProblems.push({ plugin, message })
  }
  if (sources.uses.every((u) => types.stages.has(u))) return { types, pluginProblems }
  const workspace = await workspaceRegistry(repoRoot)
  for (const [name, s] of workspace.stages) if (!types.stages.has(name)) types.stages.set(name, s)
  types.problems.push(...workspace.problems)
  return { types, pluginProblems }
}

/**
 * Stage types by name: the built-in stage libraries of the workspace plus the plug-ins a pipeline
 * names. Both the pipeline loader and the local executor ask it, so they see the same definitions.
 */
export class StageRegistry extends Context.Service<
  StageRegistry,
  {
    readonly forPipeline: (
      sources: StageSources
    ) => Effect.Effect<{ readonly types: StageTypes; readonly pluginProblems: ReadonlyArray<PluginProblem> }>
  }
>()("@tomoprior/runner/StageRegistry") {
  /** Built-ins from `<repoRoot>/libs/stages/*`; plug-ins resolved from the pipeline's directory, the cwd, then `repoRoot`. */
  static readonly layer = (repoRoot: string): Layer.Layer<StageRegistry> =>
    Layer.succeed(StageRegistry, { forPipeline: (sources) => Effect.promise(() => typesFor(repoRoot, sources)) })
}
