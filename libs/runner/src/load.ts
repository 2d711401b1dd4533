import { type Backend, type Diagnostic, PipelineInvalid } from "@tomoprior/core"
import { Effect } from "effect"
import { dirname, resolve } from "node:path"
import { StageRegistry } from "./registry.ts"
import { type ResolvedPipeline, resolvePipeline } from "./resolve.ts"
import { readPipelineSpec } from "./spec.ts"

/**
 * Reads, merges (`extends`), resolves and validates a pipeline file against the stage types the
 * `StageRegistry` provides. Fails with every problem found, each located in its file; nothing is
 * run or written.
 */
export const resolvePipelineFile = (file: string, options: { readonly backend?: Backend } = {}) =>
  Effect.gen(function* () {
    const path = resolve(file)
    const diagnostics: Array<Diagnostic> = []
    const spec = readPipelineSpec(path, diagnostics)
    if (!spec) return yield* new PipelineInvalid({ file: path, diagnostics })
    const registry = yield* StageRegistry
    const { types, pluginProblems } = yield* registry.forPipeline({
      plugins: spec.plugins.map((p) => p.value),
      pipelineDir: dirname(path)
    })
    for (const { plugin, message } of pluginProblems)
      diagnostics.push({
        location: spec.plugins[plugin].loc,
        message,
        hint: "install the package next to the pipeline (npm install <name>) or give a relative path"
      })
    const resolved = resolvePipeline(spec, types, diagnostics, { backend: options.backend })
    if (!resolved || diagnostics.length > 0) return yield* new PipelineInvalid({ file: path, diagnostics })
    return resolved as ResolvedPipeline
  })
