import {
  type ArtifactKind,
  type Backend,
  type ComputeSettings,
  type Diagnostic,
  type SourceLocation,
  type StageDef,
  canonicalJson
} from "@tomoprior/core"
import { Exit, Schema } from "effect"
import { dirname } from "node:path"
import { type ExecutorSettings, mergeSlurm, type SlurmOptions } from "./slurm/options.ts"
import type { Located, PipelineSpec, StageSpec } from "./spec.ts"

/** One input wire: the producing node and which of its outputs. */
export interface Wire {
  readonly node: string
  readonly output: string
  /** The reference as written, e.g. `norm.volumes` — used in plan explanations. */
  readonly ref: string
}

/** One runnable stage instance (a matrix stage becomes several). */
export interface PlanNode {
  /** `finetune` or `finetune[fraction=0.01,seed=1]`. */
  readonly id: string
  readonly specId: string
  readonly stage: StageDef
  /** The `with:` block decoded by the stage's schema: defaults applied, so omitted == explicit default. */
  readonly params: unknown
  readonly inputs: Readonly<Record<string, { readonly many: boolean; readonly wires: ReadonlyArray<Wire> }>>
  readonly deps: ReadonlyArray<string>
  readonly loc: SourceLocation
  /** The job settings a cluster executor gives this stage: the pipeline's `slurm:` with the stage's over it. */
  readonly slurm: SlurmOptions
}

export interface ResolvedPipeline {
  readonly file: string
  /** The `--set` variant this pipeline is, if any: its results go to that variant's section of the lock file. */
  readonly variant?: { readonly name: string; readonly set: Readonly<Record<string, unknown>> }
  readonly dir: string
  readonly name: string
  /** The `plugins:` entries (resolved from `dir`), so an executor can load the same stage types. */
  readonly plugins: ReadonlyArray<string>
  /** Topological order. */
  readonly nodes: ReadonlyArray<PlanNode>
  readonly compute: ComputeSettings
  /** The pipeline's `executor:` block, if it has one (the command line's `--executor` wins). */
  readonly executor?: ExecutorSettings
}

export interface Registry {
  get(name: string): StageDef | undefined
  names(): Array<string>
}

const REF = /^([A-Za-z_][A-Za-z0-9_-]*)(\[([^\]]*)\])?(?:\.([A-Za-z_][A-Za-z0-9_-]*))?$/
const PARAM_REF = /\$\{params\.([A-Za-z0-9_.-]+)\}/g

/**
 * Turns a pipeline spec into runnable nodes, checking everything that can be checked before
 * running: stage types, params against each stage's schema, references, kinds, required inputs,
 * cycles. Every problem is added to `diagnostics`; nodes are returned only when there is none.
 */
export const resolvePipeline = (
  spec: PipelineSpec,
  registry: Registry,
  diagnostics: Array<Diagnostic>,
  computeOverride: { backend?: Backend } = {}
): ResolvedPipeline | undefined => {
  const start = diagnostics.length
  const specs = new Map(spec.stages.map((s) => [s.id, s]))
  const types = new Map<string, StageDef>()
  for (const s of spec.stages) {
    if (!s.uses) {
      diagnostics.push({
        location: s.loc,
        message: `stage \`${s.id}\` has no \`uses:\``,
        hint: `name a stage type: ${registry.names().join(", ")}`
      })
      continue
    }
    const stage = registry.get(s.uses.value)
    if (stage) types.set(s.id, stage)
    else {
      const near = closest(s.uses.value, registry.names())
      diagnostics.push({
        location: s.uses.loc,
        message: `unknown stage type \`${s.uses.value}\``,
        hint: `${near ? `did you mean \`${near}\`? ` : ""}known stage types: ${registry.names().join(", ") || "(none)"}`
      })
    }
  }

  // Expand matrices and decode params.
  const instances = new Map<string, Array<{ id: string; combo: Record<string, unknown>; params: unknown }>>()
  for (const s of spec.stages) {
    const stage = types.get(s.id)
    if (!stage) continue
    const withValues: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(s.with)) withValues[k] = interpolate(v, spec.params, diagnostics)
    const combos = expandMatrix(s.matrix)
    const list: Array<{ id: string; combo: Record<string, unknown>; params: unknown }> = []
    let reported = false
    for (const combo of combos) {
      const id =
        Object.keys(combo).length === 0
          ? s.id
          : `${s.id}[${Object.entries(combo)
              .map(([k, v]) => `${k}=${formatValue(v)}`)
              .join(",")}]`
      // Unknown keys are errors: a misspelt param silently falling back to its default is the worst kind of bug.
      const exit = Schema.decodeUnknownExit(stage.params)({ ...withValues, ...combo }, { errors: "all", onExcessProperty: "error" })
      if (Exit.isSuccess(exit)) list.push({ id, combo, params: exit.value })
      else if (!reported) {
        reported = true
        const message = schemaMessage(exit.cause)
        const key = /at \["([^"]+)"\]/.exec(message)?.[1]
        const loc = (key && (s.with[key]?.loc ?? s.matrix[key]?.loc)) || s.uses?.loc || s.loc
        const origins = key && s.with[key] ? originsOf(s.with[key], spec.params) : []
        diagnostics.push({
          location: loc,
          message: `${origins.map((o) => `${o}: `).join("")}invalid params for stage \`${id}\` (${stage.name}): ${message.replace(/\n\s*/g, " ")}`,
          hint: `see \`tomoprior stages\` for the params of ${stage.name}`
        })
      }
    }
    instances.set(s.id, list)
  }

  // Wire inputs.
  const wiresOf = new Map<string, Record<string, { many: boolean; wires: Array<Wire> }>>()
  const specDeps = new Map<string, Set<string>>()
  for (const s of spec.stages) {
    const stage = types.get(s.id)
    specDeps.set(s.id, new Set())
    if (!stage) continue
    const inputs: Record<string, { many: boolean; wires: Array<Wire> }> = {}
    for (const [port, located] of Object.entries(s.in)) {
      const decl = stage.inputs[port]
      if (!decl) {
        diagnostics.push({
          location: located.loc,
          message: `stage type \`${stage.name}\` has no input \`${port}\``,
          hint: `its inputs: ${describePorts(stage)}`
        })
        continue
      }
      const refs: ReadonlyArray<Located<string>> = typeof located.value === "string" ? [located as Located<string>] : located.value
      if (!decl.many && refs.length !== 1) {
        diagnostics.push({
          location: located.loc,
          message: `input \`${port}\` of \`${s.id}\` takes one reference, got ${refs.length}`,
          hint: "only `many` ports accept a list"
        })
        continue
      }
      const wires: Array<Wire> = []
      for (const r of refs) {
        const target = resolveRef(r, decl.kind, specs, types, instances, diagnostics)
        if (!target) continue
        specDeps.get(s.id)!.add(target.specId)
        if (!decl.many && target.wires.length > 1) {
          diagnostics.push({
            location: r.loc,
            message: `\`${target.specId}\` is a matrix stage with ${target.wires.length} runs, but input \`${port}\` takes one artifact`,
            hint: `name one run, e.g. \`${target.wires[0].node}.${target.wires[0].output}\`, or connect it to a port that takes many`
          })
          continue
        }
        wires.push(...target.wires)
      }
      inputs[port] = { many: decl.many === true, wires }
    }
    for (const [port, decl] of Object.entries(stage.inputs))
      if (!decl.optional && !(port in s.in))
        diagnostics.push({
          location: s.loc,
          message: `stage \`${s.id}\` (${stage.name}) is missing required input \`${port}\` (${decl.kind})`,
          hint: `add \`in: { ${port}: <stage>.<output> }\` naming a stage that outputs ${decl.kind}`
        })
    wiresOf.set(s.id, inputs)
  }

  const order = topoOrder(spec.stages, specDeps, diagnostics)
  if (diagnostics.length > start || !order) return undefined

  const nodes: Array<PlanNode> = []
  for (const id of order) {
    const s = specs.get(id)!
    const inputs = wiresOf.get(id)!
    const deps = [...new Set(Object.values(inputs).flatMap((i) => i.wires.map((w) => w.node)))]
    const slurm = mergeSlurm(spec.slurm, s.slurm)
    for (const inst of instances.get(id)!)
      nodes.push({ id: inst.id, specId: id, stage: types.get(id)!, params: inst.params, inputs, deps, loc: s.loc, slurm })
  }
  return {
    file: spec.file,
    dir: dirname(spec.file),
    name: spec.name,
    plugins: spec.plugins.map((p) => p.value),
    nodes,
    compute: {
      backend: computeOverride.backend ?? spec.compute.backend?.value ?? "auto",
      threads: spec.compute.threads?.value ?? 0
    },
    ...(spec.executor ? { executor: spec.executor } : {})
  }
}

const resolveRef = (
  r: Located<string>,
  kind: ArtifactKind,
  specs: ReadonlyMap<string, StageSpec>,
  types: ReadonlyMap<string, StageDef>,
  instances: ReadonlyMap<string, ReadonlyArray<{ id: string; combo: Record<string, unknown> }>>,
  diagnostics: Array<Diagnostic>
): { specId: string; wires: Array<Wire> } | undefined => {
  const m = REF.exec(r.value)
  if (!m) {
    diagnostics.push({
      location: r.loc,
      message: `malformed reference \`${r.value}\``,
      hint: "write `<stage id>.<output name>`, e.g. `norm.volumes`"
    })
    return undefined
  }
  const [, specId, , selector, outputName] = m
  if (!specs.has(specId)) {
    const near = closest(specId, [...specs.keys()])
    diagnostics.push({
      location: r.loc,
      message: `unknown stage \`${specId}\` in reference \`${r.value}\``,
      hint: `${near ? `did you mean \`${near}\`? ` : ""}stages in this pipeline: ${[...specs.keys()].join(", ")}`
    })
    return undefined
  }
  const producer = types.get(specId)
  if (!producer) return undefined // its own `uses:` problem is already reported
  let output = outputName
  if (output === undefined) {
    const candidates = Object.entries(producer.outputs)
      .filter(([, k]) => k === kind)
      .map(([n]) => n)
    if (candidates.length !== 1) {
      diagnostics.push({
        location: r.loc,
        message:
          candidates.length === 0
            ? `stage \`${specId}\` has no ${kind} output`
            : `ambiguous reference \`${r.value}\`: \`${specId}\` has ${candidates.length} ${kind} outputs (${candidates.join(", ")})`,
        hint: `name the output: ${Object.keys(producer.outputs)
          .map((o) => `\`${specId}.${o}\``)
          .join(" or ")}`
      })
      return undefined
    }
    output = candidates[0]
  }
  const outKind = producer.outputs[output]
  if (!outKind) {
    diagnostics.push({
      location: r.loc,
      message: `stage \`${specId}\` (${producer.name}) has no output \`${output}\``,
      hint: `its outputs: ${Object.entries(producer.outputs)
        .map(([n, k]) => `${n} (${k})`)
        .join(", ")}`
    })
    return undefined
  }
  if (outKind !== kind) {
    diagnostics.push({
      location: r.loc,
      message: `kind mismatch: \`${specId}.${output}\` is ${outKind}, but this input expects ${kind}`,
      hint: `connect an output of kind ${kind}`
    })
    return undefined
  }
  let list = instances.get(specId) ?? []
  if (selector !== undefined) {
    const wanted = parseSelector(selector)
    list = list.filter((i) => Object.entries(wanted).every(([k, v]) => k in i.combo && formatValue(i.combo[k]) === v))
    if (list.length === 0) {
      diagnostics.push({
        location: r.loc,
        message: `no matrix run of \`${specId}\` matches \`[${selector}]\``,
        hint: `runs: ${(instances.get(specId) ?? []).map((i) => i.id).join(", ")}`
      })
      return undefined
    }
  }
  const ref = `${specId}.${output}`
  return { specId, wires: list.map((i) => ({ node: i.id, output, ref })) }
}

const parseSelector = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split(",")
      .filter((p) => p.trim())
      .map((p) => {
        const [k, ...v] = p.split("=")
        return [k.trim(), v.join("=").trim()]
      })
  )

const formatValue = (v: unknown): string => (typeof v === "string" ? v : canonicalJson(v))

const expandMatrix = (matrix: StageSpec["matrix"]): Array<Record<string, unknown>> => {
  let combos: Array<Record<string, unknown>> = [{}]
  for (const [k, v] of Object.entries(matrix)) combos = combos.flatMap((c) => v.value.map((x) => ({ ...c, [k]: x })))
  return combos
}

/**
 * The `--set` flags behind a value: its own, and those of the pipeline params it refers to (with
 * where that param is written, since the problem is reported where the param is used).
 */
const originsOf = (v: Located<unknown>, params: PipelineSpec["params"]): Array<string> => {
  const refs = [...JSON.stringify(v.value ?? null).matchAll(PARAM_REF)].map((m) => {
    const name = m[1].split(".")[0]
    const p = params[name]
    return p?.origin && `${p.origin} (params.${name} at ${p.loc.line}:${p.loc.column})`
  })
  return [...new Set([v.origin, ...refs].filter((o): o is string => typeof o === "string"))]
}

/** `${params.x}` as a whole value keeps the param's type; inside a longer string it is spliced as text. */
const interpolate = (v: Located<unknown>, params: PipelineSpec["params"], diagnostics: Array<Diagnostic>): unknown => {
  const lookup = (path: string): unknown => {
    const [head, ...rest] = path.split(".")
    let value = params[head]?.value
    if (!(head in params)) {
      diagnostics.push({
        location: v.loc,
        message: `unknown pipeline param \`${path}\` in \`\${params.${path}}\``,
        hint: Object.keys(params).length ? `declared params: ${Object.keys(params).join(", ")}` : "declare it under the top-level `params:`"
      })
      return undefined
    }
    for (const k of rest) value = (value as Record<string, unknown> | undefined)?.[k]
    return value
  }
  const walk = (x: unknown): unknown => {
    if (typeof x === "string") {
      const whole = /^\$\{params\.([A-Za-z0-9_.-]+)\}$/.exec(x)
      if (whole) return lookup(whole[1])
      return x.replace(PARAM_REF, (_, p: string) => String(lookup(p)))
    }
    if (Array.isArray(x)) return x.map(walk)
    if (typeof x === "object" && x !== null) return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]))
    return x
  }
  return walk(v.value)
}

const topoOrder = (
  stages: ReadonlyArray<StageSpec>,
  deps: ReadonlyMap<string, ReadonlySet<string>>,
  diagnostics: Array<Diagnostic>
): Array<string> | undefined => {
  const state = new Map<string, "visiting" | "done">()
  const order: Array<string> = []
  const stack: Array<string> = []
  let ok = true
  const reported = new Set<string>()
  const visit = (id: string) => {
    const st = state.get(id)
    if (st === "done") return
    if (st === "visiting") {
      // The stack runs consumer → producer; print the cycle the way data flows.
      const cycle = [...stack.slice(stack.indexOf(id)), id].reverse()
      const key = [...cycle.slice(0, -1)].sort().join(",")
      if (!reported.has(key)) {
        reported.add(key)
        const first = stages.find((s) => s.id === id)!
        diagnostics.push({
          location: first.loc,
          message: `cycle: ${cycle.join(" → ")}`,
          hint: "a stage cannot depend on its own output, directly or through others"
        })
      }
      ok = false
      return
    }
    state.set(id, "visiting")
    stack.push(id)
    for (const d of [...(deps.get(id) ?? [])].sort()) visit(d)
    stack.pop()
    state.set(id, "done")
    order.push(id)
  }
  for (const s of stages) visit(s.id)
  return ok ? order : undefined
}

export const describePorts = (stage: StageDef): string =>
  Object.entries(stage.inputs)
    .map(([n, p]) => `${n} (${p.kind}${p.many ? ", many" : ""}${p.optional ? ", optional" : ""})`)
    .join(", ") || "(none)"

const schemaMessage = (cause: unknown): string => {
  const reasons = (cause as { reasons?: ReadonlyArray<{ error?: { message?: string }; defect?: unknown }> }).reasons ?? []
  for (const r of reasons) if (r.error?.message) return r.error.message
  return "rejected by the stage's schema"
}

/** The nearest name by edit distance, if it is close enough to be a plausible typo. */
export const closest = (word: string, names: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const n of names) {
    const d = editDistance(word, n)
    if (d < bestD) [best, bestD] = [n, d]
  }
  return best
}

const editDistance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]
}
