import { canonicalJson, type Diagnostic, type StageDef } from "@tomoprior/core"
import { isAlias, isSeq, parseDocument, visit } from "yaml"
import { closest, type Registry } from "./resolve.ts"
import { type Located, type PipelineSpec, STAGE_ID, type StageSpec } from "./spec.ts"

/**
 * `--set <target>.<path>=<values>` as written on the command line. `target` is a stage id or
 * `params` (the pipeline's `params:`); `path` is a param name, optionally with dotted keys into
 * a mapping (`augment.flip.p`). The values are one YAML flow sequence without its brackets:
 * `0.1,0.5` is two values (a sweep), `[-900, 500]` one list, `"a, b"` one string with a comma.
 */
export interface SetFlag {
  /** The flag as the user wrote it, e.g. `--set sorting.margin=0.1,0.5`: every message names it. */
  readonly flag: string
  readonly target: string
  readonly path: ReadonlyArray<string>
  readonly values: ReadonlyArray<unknown>
}

/** One override of a variant: a single value for one `--set` path. */
export interface Override {
  readonly flag: string
  /** The flag and, for a sweep, which of its values: what a message about this value names. */
  readonly origin: string
  readonly target: string
  readonly path: ReadonlyArray<string>
  readonly value: unknown
}

/** One combination of `--set` values: a run of the pipeline with those overrides. */
export interface Variant {
  /** e.g. `sorting.margin=0.5 params.size=96`: names the variant in the lock file and in `compare`. */
  readonly name: string
  readonly overrides: ReadonlyArray<Override>
  /** Dotted path → value, as recorded in the lock file. */
  readonly set: Readonly<Record<string, unknown>>
}

const PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

/**
 * Parses the text after `--set`. Problems are diagnostics naming the flag (there is no YAML place
 * yet), so every bad flag is reported at once with the pipeline's other problems.
 */
export const parseSetFlag = (text: string, diagnostics: Array<Diagnostic>): SetFlag | undefined => {
  const flag = `--set ${text}`
  const bad = (message: string, hint: string) => void diagnostics.push({ message: `${flag}: ${message}`, hint })
  const eq = text.indexOf("=")
  if (eq < 0) return bad("missing `=`", "write `--set <stage>.<param>=<value>` or `--set params.<name>=<value>`")
  const lhs = text.slice(0, eq).trim()
  const [target, ...path] = lhs.split(".")
  if (!PATH.test(lhs) || path.length === 0)
    return bad(`\`${lhs}\` is not \`<stage>.<param>\``, "e.g. `--set sorting.margin=0.5` or `--set params.size=96`")
  if (target !== "params" && !STAGE_ID.test(target)) return bad(`invalid stage id \`${target}\``, "stage ids are the keys under `stages:`")
  const raw = text.slice(eq + 1)
  if (raw.trim() === "") return bad("no value after `=`", "give a value, or several separated by commas for a sweep")
  const values = parseValues(raw)
  if (typeof values === "string")
    return bad(
      `cannot read the value \`${raw}\`: ${values}`,
      "values are YAML: 0.5, true, text, [1, 2] (a list), {a: 1}; commas separate sweep values, so quote text holding one: '\"a, b\"'"
    )
  if (values.length === 0) return bad("no value after `=`", "give a value, or several separated by commas for a sweep")
  return { flag, target, path, values }
}

/** The values of `a,b,[c,d]` as a YAML flow sequence, or what is wrong with them. */
const parseValues = (raw: string): ReadonlyArray<unknown> | string => {
  const doc = parseDocument(`[${raw}]`, { prettyErrors: false, uniqueKeys: true })
  const problem = doc.errors[0] ?? doc.warnings[0]
  if (problem) return problem.message.split("\n")[0]
  let extra: string | undefined
  // Plain data only: no tags (`!!js/function`) and no aliases, as in pipeline files.
  visit(doc, {
    Node: (_k, node) => {
      if (isAlias(node)) extra = "aliases are not allowed"
      else if ((node as { tag?: string }).tag !== undefined) extra = "YAML tags are not allowed"
    }
  })
  if (extra) return extra
  if (!isSeq(doc.contents)) return "not a list of values"
  return doc.toJS() as Array<unknown>
}

/** How a value is written in a variant name: plain text when unambiguous, else JSON. */
export const formatSetValue = (v: unknown): string =>
  typeof v === "string" && /^[A-Za-z_][A-Za-z0-9_./:-]*$/.test(v) && !["true", "false", "null", "yes", "no"].includes(v)
    ? v
    : canonicalJson(v)

/**
 * Every combination of the flags' values (the flags' order, the last flag varying fastest). A
 * path given twice is a usage problem: which value wins would be a guess.
 */
export const expandVariants = (flags: ReadonlyArray<SetFlag>, diagnostics: Array<Diagnostic>): Array<Variant> => {
  const seen = new Map<string, string>()
  for (const f of flags) {
    const key = [f.target, ...f.path].join(".")
    const prefix = [...seen.keys()].find((k) => k === key || k.startsWith(`${key}.`) || key.startsWith(`${k}.`))
    if (prefix !== undefined) {
      diagnostics.push({
        message: `${f.flag}: \`${key}\` is also set by ${seen.get(prefix)}`,
        hint: "set each param once; give several values separated by commas for a sweep"
      })
      return []
    }
    seen.set(key, f.flag)
  }
  let combos: Array<Array<Override>> = [[]]
  for (const f of flags)
    combos = combos.flatMap((c) =>
      f.values.map((value) => {
        const origin = f.values.length > 1 ? `${f.flag} (value ${formatSetValue(value)})` : f.flag
        return [...c, { flag: f.flag, origin, target: f.target, path: f.path, value }]
      })
    )
  return flags.length === 0 ? [] : combos.map(variantOf)
}

const variantOf = (overrides: ReadonlyArray<Override>): Variant => {
  const entries = overrides.map((o) => [[o.target, ...o.path].join("."), o.value] as const)
  return {
    name: entries.map(([k, v]) => `${k}=${formatSetValue(v)}`).join(" "),
    overrides,
    set: Object.fromEntries(entries)
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** `base` with `value` at `path` (mappings along the way are copied, never mutated). */
const setIn = (base: unknown, path: ReadonlyArray<string>, value: unknown): unknown => {
  if (path.length === 0) return value
  const [head, ...rest] = path
  const obj = isRecord(base) ? base : {}
  return { ...obj, [head]: setIn(obj[head], rest, value) }
}

/** Where a nested override cannot go: the first non-mapping value on its way. */
const blockedAt = (base: unknown, path: ReadonlyArray<string>): number => {
  let v = base
  for (let i = 0; i < path.length; i++) {
    if (v === undefined) return -1
    if (!isRecord(v)) return i
    v = v[path[i]]
  }
  return -1
}

/**
 * The pipeline spec with one variant's overrides applied. An overridden value keeps the YAML
 * location it replaces (or its stage's, when the YAML leaves the param to its default) and carries
 * the flag as its `origin`, so a value the stage's schema rejects is reported at both places.
 */
export const applyVariant = (spec: PipelineSpec, variant: Variant, registry: Registry, diagnostics: Array<Diagnostic>): PipelineSpec => {
  let params = spec.params
  const stages = new Map(spec.stages.map((s) => [s.id, s]))
  for (const o of variant.overrides) {
    const [name, ...deeper] = o.path
    if (o.target === "params") {
      const current = params[name]
      if (!current) {
        const near = closest(name, Object.keys(params))
        diagnostics.push({
          message: `${o.flag}: the pipeline has no param \`${name}\``,
          hint: Object.keys(params).length
            ? `${near ? `did you mean \`params.${near}\`? ` : ""}its params: ${Object.keys(params).join(", ")}`
            : "this pipeline declares no `params:`; set a stage's param with `--set <stage>.<param>=<value>`"
        })
        continue
      }
      const at = blockedAt(current.value, deeper)
      if (at >= 0) {
        diagnostics.push(notAMapping(o, current, ["params", name, ...deeper.slice(0, at)]))
        continue
      }
      params = { ...params, [name]: { value: setIn(current.value, deeper, o.value), loc: current.loc, origin: o.origin } }
      continue
    }
    const stage = stages.get(o.target)
    if (!stage) {
      const ids = [...stages.keys()]
      const near = closest(o.target, ids)
      diagnostics.push({
        message: `${o.flag}: no stage \`${o.target}\` in ${spec.name}`,
        hint: `${near ? `did you mean \`${near}\`? ` : ""}stages: ${ids.join(", ")}; pipeline params are set with \`params.<name>\``
      })
      continue
    }
    const fields = stage.uses && paramNames(registry.get(stage.uses.value))
    if (fields && !fields.includes(name)) {
      const near = closest(name, fields)
      diagnostics.push({
        location: stage.uses!.loc,
        message: `${o.flag}: stage \`${stage.id}\` (${stage.uses!.value}) has no param \`${name}\``,
        hint: `${near ? `did you mean \`${stage.id}.${near}\`? ` : ""}its params: ${fields.join(", ")}`
      })
      continue
    }
    const matrix = stage.matrix[name]
    if (matrix && deeper.length > 0) {
      diagnostics.push({
        location: matrix.loc,
        message: `${o.flag}: \`${name}\` is a matrix dimension of \`${stage.id}\`; it takes whole values`,
        hint: `e.g. --set ${stage.id}.${name}=${formatSetValue(matrix.value[0])}`
      })
      continue
    }
    const current = stage.with[name]
    const at = current ? blockedAt(current.value, deeper) : -1
    if (current && at >= 0) {
      diagnostics.push(notAMapping(o, current, ["stages", stage.id, "with", name, ...deeper.slice(0, at)]))
      continue
    }
    // A matrix dimension given a list keeps being one, with these values; given one value, the variant runs only it.
    if (matrix && Array.isArray(o.value) && o.value.length > 0) {
      const values: Located<ReadonlyArray<unknown>> = { value: o.value, loc: matrix.loc, origin: o.origin }
      stages.set(stage.id, { ...stage, matrix: { ...stage.matrix, [name]: values } })
      continue
    }
    const { [name]: _dropped, ...restMatrix } = stage.matrix
    const located: Located<unknown> = {
      value: setIn(current?.value, deeper, o.value),
      loc: current?.loc ?? matrix?.loc ?? stage.loc,
      origin: o.origin
    }
    stages.set(stage.id, { ...stage, with: { ...stage.with, [name]: located }, matrix: restMatrix } satisfies StageSpec)
  }
  return { ...spec, params, stages: [...stages.values()] }
}

/** A stage type's param names when its schema is a struct (every built-in stage's is). */
const paramNames = (stage: StageDef | undefined): Array<string> | undefined => {
  const fields = (stage?.params as { fields?: Record<string, unknown> } | undefined)?.fields
  return fields ? Object.keys(fields) : undefined
}

const notAMapping = (o: Override, current: Located<unknown>, where: ReadonlyArray<string>): Diagnostic => {
  const text = typeof current.value === "string" ? ` (it is written \`${current.value}\`)` : ""
  const viaParam = typeof current.value === "string" && /^\$\{params\.([A-Za-z0-9_.-]+)\}$/.exec(current.value)
  const name = where.filter((w) => w !== "stages" && w !== "with").join(".")
  return {
    location: current.loc,
    message: `${o.flag}: \`${name}\` is not a mapping${text}, so \`${o.path.join(".")}\` cannot be set inside it`,
    hint: viaParam ? `set the pipeline param instead: --set params.${viaParam[1]}.${o.path.slice(1).join(".")}=…` : "set the whole value"
  }
}
