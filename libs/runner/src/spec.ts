import { type Backend, BACKENDS, type Diagnostic, type SourceLocation } from "@tomoprior/core"
import { dirname, relative, resolve } from "node:path"
import { type ExecutorSettings, mergeSlurm, readExecutorBlock, readSlurmBlock, type SlurmOptions } from "./slurm/options.ts"
import { readYamlFile, type YamlFile } from "./yaml-file.ts"

/** A value from a pipeline file and where it was written. */
export interface Located<T> {
  readonly value: T
  readonly loc: SourceLocation
  /** Set when the value comes from the command line (`--set …`), not from the file at `loc`. */
  readonly origin?: string
}

export interface StageSpec {
  readonly id: string
  readonly loc: SourceLocation
  readonly uses?: Located<string>
  readonly in: Readonly<Record<string, Located<string | ReadonlyArray<Located<string>>>>>
  readonly with: Readonly<Record<string, Located<unknown>>>
  readonly matrix: Readonly<Record<string, Located<ReadonlyArray<unknown>>>>
  /** The stage's own `slurm:` settings (over the pipeline's). */
  readonly slurm: SlurmOptions
}

/** A pipeline file with its `extends` chain merged, before stage types are looked up. */
export interface PipelineSpec {
  readonly file: string
  readonly name: string
  readonly plugins: ReadonlyArray<Located<string>>
  readonly params: Readonly<Record<string, Located<unknown>>>
  readonly compute: { readonly backend?: Located<Backend>; readonly threads?: Located<number> }
  /** Where stages run unless the command line says otherwise. */
  readonly executor?: ExecutorSettings
  /** `slurm:` settings every stage's job gets. */
  readonly slurm: SlurmOptions
  readonly stages: ReadonlyArray<StageSpec>
}

const TOP_KEYS = ["pipeline", "extends", "plugins", "params", "compute", "executor", "slurm", "stages"]
const STAGE_KEYS = ["uses", "in", "with", "matrix", "slurm"]
export const STAGE_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)
const kindOf = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "a list" : isRecord(v) ? "a mapping" : `a ${typeof v}`)

/**
 * Reads a pipeline file and everything it `extends`, checking the shape of every field. Problems go
 * to `diagnostics`; the returned spec holds whatever was well-formed, so later checks can still run.
 */
export const readPipelineSpec = (file: string, diagnostics: Array<Diagnostic>): PipelineSpec | undefined =>
  readWithExtends(resolve(file), [], diagnostics)

const readWithExtends = (file: string, chain: ReadonlyArray<string>, diagnostics: Array<Diagnostic>): PipelineSpec | undefined => {
  const y = readYamlFile(file, diagnostics)
  if (!y) return undefined
  if (!isRecord(y.value)) {
    diagnostics.push({
      location: y.locate([]),
      message: `a pipeline file must be a mapping, not ${kindOf(y.value)}`,
      hint: "start with `pipeline: <name>` and `stages:`"
    })
    return undefined
  }
  const top = y.value
  for (const k of Object.keys(top))
    if (!TOP_KEYS.includes(k))
      diagnostics.push({
        location: y.locate([k], true),
        message: `unknown top-level key \`${k}\``,
        hint: `allowed: ${TOP_KEYS.join(", ")}`
      })

  let base: PipelineSpec | undefined
  if (top.extends !== undefined) {
    if (typeof top.extends !== "string") diagnostics.push({ location: y.locate(["extends"]), message: "`extends` must be a file path" })
    else {
      const target = resolve(dirname(file), top.extends)
      if (target === file || chain.includes(target)) {
        const cycle = [...chain, file, target].map((f) => relative(process.cwd(), f) || f)
        diagnostics.push({
          location: y.locate(["extends"]),
          message: `extends cycle: ${cycle.join(" → ")}`,
          hint: "a pipeline may not extend itself, directly or through others"
        })
      } else {
        const inner: Array<Diagnostic> = []
        base = readWithExtends(target, [...chain, file], inner)
        if (inner.length > 0 && inner.every((d) => d.location?.file === target && d.message.startsWith("file not found")))
          diagnostics.push({
            location: y.locate(["extends"]),
            message: `extended file not found: ${top.extends}`,
            hint: "the path is relative to this pipeline file"
          })
        else diagnostics.push(...inner)
      }
    }
  }

  let name = base?.name
  if (typeof top.pipeline === "string" && top.pipeline.length > 0) name = top.pipeline
  else if (top.pipeline !== undefined)
    diagnostics.push({ location: y.locate(["pipeline"]), message: "`pipeline` must be a non-empty name" })
  else if (!base) diagnostics.push({ location: y.locate([]), message: "missing `pipeline: <name>`" })

  const plugins = [...(base?.plugins ?? []), ...readPlugins(y, top.plugins, diagnostics)]
  const params = { ...(base?.params ?? {}), ...readLocatedMap(y, ["params"], top.params, diagnostics) }
  const compute = { ...(base?.compute ?? {}), ...readCompute(y, top.compute, diagnostics) }
  const executor = readExecutorBlock(y, top.executor, diagnostics) ?? base?.executor
  const slurm = mergeSlurm(base?.slurm ?? {}, readSlurmBlock(y, ["slurm"], top.slurm, diagnostics))

  const stages = new Map<string, StageSpec>((base?.stages ?? []).map((s) => [s.id, s]))
  if (top.stages === undefined) {
    if (!base)
      diagnostics.push({
        location: y.locate([]),
        message: "missing `stages:`",
        hint: "list the stages: `stages: { data: { uses: ingest, with: {...} } }`"
      })
  } else if (!isRecord(top.stages))
    diagnostics.push({
      location: y.locate(["stages"]),
      message: `\`stages\` must be a mapping of stage id → stage, not ${kindOf(top.stages)}`
    })
  else
    for (const [id, raw] of Object.entries(top.stages)) {
      // `id: null` in an extending file drops the inherited stage (e.g. to replace it under another id).
      if (raw === null && base?.stages.some((s) => s.id === id)) {
        stages.delete(id)
        continue
      }
      const own = readStage(y, id, raw, diagnostics)
      if (!own) continue
      const inherited = stages.get(id)
      stages.set(id, inherited && !own.uses ? mergeStage(inherited, own) : own)
    }
  // Only where this file decides the stage list: a missing base file is reported on its own.
  if (stages.size === 0 && isRecord(top.stages) && (top.extends === undefined || base))
    diagnostics.push({
      location: y.locate(["stages"]),
      message: base ? "no stages left: this file drops every stage it inherits" : "the pipeline has no stages",
      hint: "a pipeline runs at least one stage: `stages: { data: { uses: ingest, with: {...} } }`"
    })
  return { file, name: name ?? "", plugins, params, compute, ...(executor ? { executor } : {}), slurm, stages: [...stages.values()] }
}

/** An override without `uses:` refines the inherited stage key by key; with `uses:` it replaces it. */
const mergeStage = (base: StageSpec, over: StageSpec): StageSpec => ({
  id: base.id,
  loc: over.loc,
  uses: base.uses,
  in: { ...base.in, ...over.in },
  with: mergeWith(base.with, over.with),
  matrix: { ...base.matrix, ...over.matrix },
  slurm: mergeSlurm(base.slurm, over.slurm)
})

const mergeWith = (base: StageSpec["with"], over: StageSpec["with"]): StageSpec["with"] => {
  const out: Record<string, Located<unknown>> = { ...base }
  for (const [k, v] of Object.entries(over)) {
    const b = out[k]
    out[k] = b && isRecord(b.value) && isRecord(v.value) ? { value: deepMerge(b.value, v.value), loc: v.loc } : v
  }
  return out
}

const deepMerge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = isRecord(out[k]) && isRecord(v) ? deepMerge(out[k] as Record<string, unknown>, v) : v
  return out
}

const readPlugins = (y: YamlFile, raw: unknown, diagnostics: Array<Diagnostic>): Array<Located<string>> => {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) {
    diagnostics.push({ location: y.locate(["plugins"]), message: "`plugins` must be a list of package names" })
    return []
  }
  const out: Array<Located<string>> = []
  raw.forEach((p, i) => {
    if (typeof p === "string" && p.length > 0) out.push({ value: p, loc: y.locate(["plugins", i]) })
    else diagnostics.push({ location: y.locate(["plugins", i]), message: "a plugin must be a package name or a relative path" })
  })
  return out
}

const readLocatedMap = (
  y: YamlFile,
  path: ReadonlyArray<string>,
  raw: unknown,
  diagnostics: Array<Diagnostic>
): Record<string, Located<unknown>> => {
  if (raw === undefined || raw === null) return {}
  if (!isRecord(raw)) {
    diagnostics.push({ location: y.locate(path), message: `\`${path.at(-1)}\` must be a mapping, not ${kindOf(raw)}` })
    return {}
  }
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, { value: v, loc: y.locate([...path, k]) }]))
}

const readCompute = (y: YamlFile, raw: unknown, diagnostics: Array<Diagnostic>): PipelineSpec["compute"] => {
  const m = readLocatedMap(y, ["compute"], raw, diagnostics)
  const out: { backend?: Located<Backend>; threads?: Located<number> } = {}
  for (const [k, v] of Object.entries(m)) {
    if (k === "backend") {
      if ((BACKENDS as ReadonlyArray<unknown>).includes(v.value)) out.backend = v as Located<Backend>
      else
        diagnostics.push({
          location: v.loc,
          message: `unknown compute backend \`${String(v.value)}\``,
          hint: `one of: ${BACKENDS.join(", ")}`
        })
    } else if (k === "threads") {
      if (Number.isInteger(v.value) && (v.value as number) >= 0) out.threads = v as Located<number>
      else diagnostics.push({ location: v.loc, message: "`compute.threads` must be a whole number ≥ 0 (0 = one per core)" })
    } else
      diagnostics.push({
        location: y.locate(["compute", k], true),
        message: `unknown compute setting \`${k}\``,
        hint: "allowed: backend, threads"
      })
  }
  return out
}

const readStage = (y: YamlFile, id: string, raw: unknown, diagnostics: Array<Diagnostic>): StageSpec | undefined => {
  const loc = y.locate(["stages", id], true)
  if (!STAGE_ID.test(id)) {
    diagnostics.push({
      location: loc,
      message: `invalid stage id \`${id}\``,
      hint: "ids start with a letter or _ and contain only letters, digits, _ and -"
    })
    return undefined
  }
  if (!isRecord(raw)) {
    diagnostics.push({
      location: y.locate(["stages", id]),
      message: `stage \`${id}\` must be a mapping, not ${kindOf(raw)}`,
      hint: "e.g. `norm: { uses: normalize, in: { volumes: data.volumes } }`"
    })
    return undefined
  }
  for (const k of Object.keys(raw))
    if (!STAGE_KEYS.includes(k))
      diagnostics.push({
        location: y.locate(["stages", id, k], true),
        message: `unknown key \`${k}\` in stage \`${id}\``,
        hint: `allowed: ${STAGE_KEYS.join(", ")}`
      })
  let uses: Located<string> | undefined
  if (raw.uses !== undefined) {
    if (typeof raw.uses === "string" && raw.uses.length > 0) uses = { value: raw.uses, loc: y.locate(["stages", id, "uses"]) }
    else diagnostics.push({ location: y.locate(["stages", id, "uses"]), message: "`uses` must name a stage type" })
  }
  const inputs: Record<string, Located<string | ReadonlyArray<Located<string>>>> = {}
  for (const [port, v] of Object.entries(readLocatedMap(y, ["stages", id, "in"], raw.in, diagnostics))) {
    if (typeof v.value === "string") inputs[port] = v as Located<string>
    else if (Array.isArray(v.value) && v.value.every((r) => typeof r === "string"))
      inputs[port] = { value: v.value.map((r, i) => ({ value: r as string, loc: y.locate(["stages", id, "in", port, i]) })), loc: v.loc }
    else
      diagnostics.push({
        location: v.loc,
        message: `input \`${port}\` must be a reference like \`stage.output\` or a list of them`,
        hint: "references are written `<stage id>.<output name>`"
      })
  }
  const matrix: Record<string, Located<ReadonlyArray<unknown>>> = {}
  for (const [k, v] of Object.entries(readLocatedMap(y, ["stages", id, "matrix"], raw.matrix, diagnostics))) {
    if (Array.isArray(v.value) && v.value.length > 0) matrix[k] = v as Located<ReadonlyArray<unknown>>
    else
      diagnostics.push({
        location: v.loc,
        message: `matrix \`${k}\` must be a non-empty list of values`,
        hint: "e.g. `matrix: { seed: [1, 2, 3] }`"
      })
  }
  const slurm = readSlurmBlock(y, ["stages", id, "slurm"], raw.slurm, diagnostics)
  return { id, loc, uses, in: inputs, with: readLocatedMap(y, ["stages", id, "with"], raw.with, diagnostics), matrix, slurm }
}
