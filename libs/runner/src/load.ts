import { type Diagnostic, PipelineInvalid } from "@tomoprior/core"
import { Effect } from "effect"
import { dirname, resolve } from "node:path"
import { StageRegistry, loadPlugin, loadWorkspaceStages } from "./registry.ts"
import { type ResolvedPipeline, resolvePipeline } from "./resolve.ts"
import { type Backend, readPipelineSpec } from "./spec.ts"

const workspaceStages = new Map<string, Promise<StageRegistry>>()

/** The workspace's stage libraries, imported once per process. */
export const workspaceRegistry = (repoRoot: string): Promise<StageRegistry> => {
  let r = workspaceStages.get(repoRoot)
  if (!r) {
    r = (async () => {
      const reg = new StageRegistry()
      await loadWorkspaceStages(reg, repoRoot)
      return reg
    })()
    workspaceStages.set(repoRoot, r)
  }
  return r
}

/**
 * The registry for one pipeline: its plugins first, then — only when the pipeline names a stage type
 * its plugins do not provide — the workspace's stage libraries. So a plugin-only pipeline never
 * imports the workspace libraries, and a plugin's stage shadows a workspace stage of the same name.
 */
export const registryFor = async (
  repoRoot: string,
  plugins: ReadonlyArray<string>,
  uses: ReadonlyArray<string>,
  pipelineDir: string,
  onProblem: (plugin: number, message: string) => void
): Promise<StageRegistry> => {
  const reg = new StageRegistry()
  for (const [i, name] of plugins.entries()) {
    const problem = await loadPlugin(reg, name, pipelineDir, [process.cwd(), repoRoot])
    if (problem) onProblem(i, problem)
  }
  if (uses.every((u) => reg.stages.has(u))) return reg
  const workspace = await workspaceRegistry(repoRoot)
  for (const [name, s] of workspace.stages) if (!reg.stages.has(name)) reg.stages.set(name, s)
  reg.problems.push(...workspace.problems)
  return reg
}

/**
 * Reads, merges (`extends`), resolves and validates a pipeline file. Fails with every problem found,
 * each located in its file; nothing is run or written.
 */
export const loadPipeline = (file: string, options: { readonly repoRoot: string; readonly backend?: Backend }) =>
  Effect.gen(function* () {
    const path = resolve(file)
    const diagnostics: Array<Diagnostic> = []
    const spec = readPipelineSpec(path, diagnostics)
    if (!spec) return yield* new PipelineInvalid({ file: path, diagnostics })
    const registry = yield* Effect.promise(() =>
      registryFor(options.repoRoot, spec.plugins.map((p) => p.value), spec.stages.flatMap((s) => (s.uses ? [s.uses.value] : [])), dirname(path), (i, message) =>
        diagnostics.push({ location: spec.plugins[i].loc, message, hint: "install the package next to the pipeline (npm install <name>) or give a relative path" })
      )
    )
    const resolved = resolvePipeline(spec, registry, diagnostics, { backend: options.backend })
    if (registry.problems.length > 0) {
      const note = ` (some stage libraries failed to load: ${registry.problems.map((p) => `${p.origin}: ${p.message}`).join("; ")})`
      for (const [i, d] of diagnostics.entries())
        if (d.message.startsWith("unknown stage type")) diagnostics[i] = { ...d, hint: `${d.hint ?? ""}${note}` }
    }
    if (!resolved || diagnostics.length > 0) return yield* new PipelineInvalid({ file: path, diagnostics })
    return resolved as ResolvedPipeline
  })
