import { type Backend, type Diagnostic, PipelineInvalid, formatDiagnostic } from "@tomoprior/core"
import { Effect } from "effect"
import { dirname, resolve } from "node:path"
import { StageRegistry } from "./registry.ts"
import { type ResolvedPipeline, resolvePipeline } from "./resolve.ts"
import { readPipelineSpec } from "./spec.ts"
import { applyVariant, expandVariants, parseSetFlag, type Variant } from "./variants.ts"

/**
 * Reads, merges (`extends`), resolves and validates a pipeline file against the stage types the
 * `StageRegistry` provides, with a `--set` variant's overrides applied when one is given. Fails
 * with every problem found, each located in its file; nothing is run or written.
 */
export const resolvePipelineFile = (file: string, options: { readonly backend?: Backend; readonly variant?: Variant } = {}) =>
  Effect.gen(function* () {
    const path = resolve(file)
    const diagnostics: Array<Diagnostic> = []
    const read = readPipelineSpec(path, diagnostics)
    if (!read) return yield* new PipelineInvalid({ file: path, diagnostics })
    const registry = yield* StageRegistry
    const { types, pluginProblems } = yield* registry.forPipeline({
      plugins: read.plugins.map((p) => p.value),
      pipelineDir: dirname(path)
    })
    for (const { plugin, message } of pluginProblems)
      diagnostics.push({
        location: read.plugins[plugin].loc,
        message,
        hint: "install the package next to the pipeline (npm install <name>) or give a relative path"
      })
    const spec = options.variant ? applyVariant(read, options.variant, types, diagnostics) : read
    const resolved = resolvePipeline(spec, types, diagnostics, { backend: options.backend })
    if (!resolved || diagnostics.length > 0) return yield* new PipelineInvalid({ file: path, diagnostics })
    const variant = options.variant && { name: options.variant.name, set: options.variant.set }
    return (variant ? { ...resolved, variant } : resolved) as ResolvedPipeline
  })

/**
 * The pipeline once per combination of `--set` values (once as written when there are none).
 * Every variant is resolved before anything runs, and the problems of all of them are reported
 * together, each once.
 */
export const resolveVariants = (file: string, options: { readonly backend?: Backend; readonly set?: ReadonlyArray<string> } = {}) =>
  Effect.gen(function* () {
    const path = resolve(file)
    const diagnostics: Array<Diagnostic> = []
    const flags = (options.set ?? []).flatMap((text) => parseSetFlag(text, diagnostics) ?? [])
    const variants = expandVariants(flags, diagnostics)
    if (diagnostics.length > 0) return yield* new PipelineInvalid({ file: path, diagnostics })
    if (variants.length === 0) return [yield* resolvePipelineFile(path, { backend: options.backend })]
    const resolved: Array<ResolvedPipeline> = []
    const seen = new Set<string>()
    for (const variant of variants) {
      const one = yield* Effect.result(resolvePipelineFile(path, { backend: options.backend, variant }))
      if (one._tag === "Success") resolved.push(one.success)
      else
        for (const d of one.failure.diagnostics)
          if (!seen.has(formatDiagnostic(d))) {
            seen.add(formatDiagnostic(d))
            diagnostics.push(d)
          }
    }
    if (diagnostics.length > 0) return yield* new PipelineInvalid({ file: path, diagnostics })
    return resolved
  })
