import { existsSync, readFileSync, realpathSync } from "node:fs"
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path"
import type {
  CreateDependencies,
  CreateNodes,
  DependencyType,
  ProjectConfiguration,
  RawProjectGraphDependency,
  TargetConfiguration
} from "nx/src/devkit-exports"
import { readPipelineGraph } from "./pipeline.ts"

export interface PipelinePluginOptions {
  /** Where the built-in stage libraries live, one directory per stage type (default `libs/stages`). */
  readonly stagesDir?: string
  /** How targets start the CLI, from the workspace root (default `node apps/cli/bin/tomoprior.js`). */
  readonly cli?: string
}

/** What the plug-in records on each pipeline project; `createDependencies` turns it into graph edges. */
export interface PipelineMetadata {
  /** Workspace packages the pipeline's stages come from: built-in stage libraries and plug-ins. */
  readonly packages: ReadonlyArray<string>
  /** The pipeline files it extends, relative to the workspace root, nearest first. */
  readonly extends: ReadonlyArray<string>
  readonly problems: ReadonlyArray<string>
}

const PIPELINES = "pipelines/*.yaml"
const TAG = "type:pipeline"

/**
 * Every `pipelines/*.yaml` becomes a project named after its file, whose root is the file itself
 * (so Nx attributes a change to it), with one target per stage that runs just that stage through
 * the CLI. Nx only orders and launches the targets: `cache: false`, because tomoprior's content-
 * addressed store decides what is up to date (Nx would have to copy multi-GB outputs and cannot
 * see the data files outside the repository). A pipeline the plug-in cannot read still becomes a
 * project, with what it could read and a `plan` target that fails with the runner's diagnostics,
 * so one broken file never stops Nx for the rest of the workspace.
 */
export const createNodes: CreateNodes<PipelinePluginOptions> = [
  PIPELINES,
  (files, options, context) =>
    files.map((file) => [file, { projects: { [file]: pipelineProject(file, options ?? {}, context.workspaceRoot) } }])
]

/** Edges from each pipeline to the packages its stages come from and to the pipelines it extends. */
export const createDependencies: CreateDependencies<PipelinePluginOptions> = (_options, context) => {
  const byRoot = new Map(Object.entries(context.projects).map(([name, p]) => [p.root, name]))
  const edges: Array<RawProjectGraphDependency> = []
  for (const [source, project] of Object.entries(context.projects)) {
    const meta = project.metadata?.tomoprior as PipelineMetadata | undefined
    if (!meta || !project.tags?.includes(TAG)) continue
    const targets = [...meta.packages.filter((p) => p in context.projects), ...meta.extends.flatMap((f) => byRoot.get(f) ?? [])]
    for (const target of targets) edges.push({ source, target, sourceFile: project.root, type: "static" as DependencyType })
  }
  return edges
}

const pipelineProject = (file: string, options: PipelinePluginOptions, workspaceRoot: string): ProjectConfiguration => {
  const cli = options.cli ?? "node apps/cli/bin/tomoprior.js"
  const stagesDir = options.stagesDir ?? "libs/stages"
  const fromRoot = (abs: string): string => relative(workspaceRoot, abs).split(sep).join("/")
  const graph = readPipelineGraph(join(workspaceRoot, file))
  const problems = graph.problems.map((p) => `${fromRoot(p.file)}:${p.line}:${p.column}: ${p.message}`)
  const plugins = graph.plugins.flatMap((p) => workspacePackage(p, dirname(join(workspaceRoot, file)), workspaceRoot) ?? [])

  const packagesOf = (id: string, uses: string | undefined): Array<string> => {
    if (uses === undefined) {
      problems.push(`${file}: stage \`${id}\` has no \`uses:\``)
      return []
    }
    const builtin = packageName(join(workspaceRoot, stagesDir, uses))
    if (builtin) return [builtin]
    // A plug-in's stage types are known only once it is loaded, so its stages depend on every plug-in.
    if (graph.plugins.length > 0) return plugins
    problems.push(`${file}: stage \`${id}\` uses \`${uses}\`, which is neither in ${stagesDir}/ nor from a plug-in`)
    return []
  }

  // A file outside the workspace cannot be an Nx input; tomoprior's own cache key still covers it.
  const yamlInputs = graph.files.map(fromRoot).flatMap((f) => (f.startsWith("../") ? [] : [`{workspaceRoot}/${f}`]))
  const env = [{ env: "TOMOPRIOR_BACKEND" }, { env: "TOMOPRIOR_STORE" }]
  const codeInputs = (packages: ReadonlyArray<string>) =>
    packages.length === 0
      ? []
      : [
          { input: "production", projects: [...packages] },
          { input: "production", projects: [...packages], dependencies: true }
        ]

  const targets: Record<string, TargetConfiguration> = {}
  const used = new Set<string>()
  for (const stage of graph.stages) {
    const packages = packagesOf(stage.id, stage.uses)
    packages.forEach((p) => used.add(p))
    targets[stage.id] = {
      command: `${cli} run ${file} --only ${stage.id}`,
      options: { cwd: "{workspaceRoot}" },
      cache: false,
      dependsOn: [...stage.upstream],
      inputs: [...yamlInputs, ...codeInputs(packages), ...env],
      metadata: {
        description: `Run stage \`${stage.id}\` (${stage.uses ?? "no uses:"}) and what it needs; tomoprior's store skips what is cached`,
        technologies: ["tomoprior"]
      }
    }
  }
  if (!("plan" in targets))
    targets.plan = {
      command: `${cli} plan ${file}`,
      options: { cwd: "{workspaceRoot}" },
      cache: false,
      inputs: [...yamlInputs, ...codeInputs([...used]), ...env],
      metadata: { description: "Validate the pipeline and say which stages would run and why", technologies: ["tomoprior"] }
    }
  if (problems.length > 0) console.warn(`tomoprior pipelines: ${file} could not be read completely:\n  ${problems.join("\n  ")}`)

  const metadata: PipelineMetadata = { packages: [...used].sort(), extends: graph.files.slice(1).map(fromRoot), problems }
  const name = basename(file, ".yaml")
  return {
    name,
    root: file,
    projectType: "application",
    tags: [TAG],
    // Nx's file map gives a project no files when its root is a file, so `{projectRoot}/**/*` would be
    // empty; a dependent's `^production` (the end-to-end tests read the pipelines) gets the YAML this way.
    namedInputs: { default: yamlInputs, production: ["default"] },
    targets,
    metadata: {
      description: `tomoprior pipeline ${file}${problems.length > 0 ? ` (${problems.length} problem(s): see \`nx run ${name}:plan\`)` : ""}`,
      technologies: ["tomoprior"],
      targetGroups: { stages: graph.stages.map((s) => s.id) },
      tomoprior: metadata
    }
  }
}

/** The name in `dir`/package.json, if there is one. */
const packageName = (dir: string): string | undefined => {
  const file = join(dir, "package.json")
  if (!existsSync(file)) return undefined
  try {
    const name = (JSON.parse(readFileSync(file, "utf8")) as { name?: unknown }).name
    return typeof name === "string" ? name : undefined
  } catch {
    return undefined
  }
}

/** The workspace package a `plugins:` entry names (a package linked into node_modules, or a path), if it is one. */
const workspacePackage = (entry: string, pipelineDir: string, workspaceRoot: string): string | undefined => {
  const linked = entry.startsWith(".") || isAbsolute(entry) ? resolve(pipelineDir, entry) : join(workspaceRoot, "node_modules", entry)
  if (!existsSync(linked)) return undefined
  const real = realpathSync(linked)
  const inside = relative(workspaceRoot, real)
  if (inside.startsWith("..") || inside.split(sep).includes("node_modules")) return undefined
  return packageName(real)
}
