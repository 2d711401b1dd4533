import type { StageDef } from "@tomoprior/core"
import { Context, Effect, Layer } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, isAbsolute, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"

export interface RegisteredStage {
  readonly stage: StageDef
  /** Package (or file) it came from, shown by `tomoprior stages`. */
  readonly origin: string
}

/** Stage types by name: the built-ins and a pipeline's `plugins:`. */
export class StageTypes {
  readonly stages = new Map<string, RegisteredStage>()

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

/** What a pipeline draws its stage types from. */
export interface StageSources {
  /** The pipeline's `plugins:` entries, in order. */
  readonly plugins: ReadonlyArray<string>
  /** Plugin paths and package names resolve from here first. */
  readonly pipelineDir: string
}

/** A `plugins:` entry that failed to load: its index in the list and why. */
export interface PluginProblem {
  readonly plugin: number
  readonly message: string
}

/** The stage types tomoprior ships, by package, and where its installation is (plug-ins also resolve from there). */
export interface BuiltinStages {
  readonly packages: ReadonlyArray<{ readonly name: string; readonly stages: ReadonlyArray<StageDef<any, any, any>> }>
  readonly installDir: string
}

/**
 * The stage types of a pipeline: its plugins first, then the built-ins, so a plugin's stage shadows
 * a built-in of the same name.
 */
const typesFor = async (
  builtins: BuiltinStages,
  sources: StageSources
): Promise<{ types: StageTypes; pluginProblems: Array<PluginProblem> }> => {
  const types = new StageTypes()
  const pluginProblems: Array<PluginProblem> = []
  for (const [plugin, name] of sources.plugins.entries()) {
    const message = await loadPlugin(types, name, sources.pipelineDir, [process.cwd(), builtins.installDir])
    if (message) pluginProblems.push({ plugin, message })
  }
  for (const pkg of builtins.packages) types.add(pkg.name, pkg)
  return { types, pluginProblems }
}

/**
 * Stage types by name: the built-ins the application composes (see @tomoprior/catalog) plus the
 * plug-ins a pipeline names. Both the pipeline loader and the executors ask it, so they see the
 * same definitions. The runner itself knows no stage.
 */
export class StageRegistry extends Context.Service<
  StageRegistry,
  {
    readonly builtins: BuiltinStages
    readonly forPipeline: (
      sources: StageSources
    ) => Effect.Effect<{ readonly types: StageTypes; readonly pluginProblems: ReadonlyArray<PluginProblem> }>
  }
>()("@tomoprior/runner/StageRegistry") {
  /** Plug-ins resolve from the pipeline's directory, the cwd, then the installation directory. */
  static readonly layer = (builtins: BuiltinStages): Layer.Layer<StageRegistry> =>
    Layer.succeed(StageRegistry, { builtins, forPipeline: (sources) => Effect.promise(() => typesFor(builtins, sources)) })
}
