import { existsSync, readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Node } from "yaml"

/** One stage of a pipeline as far as the build graph cares: what it uses and which stages it reads from. */
export interface StageNode {
  readonly id: string
  readonly uses?: string
  readonly upstream: ReadonlyArray<string>
}

/** A pipeline file reduced to its stage graph, with `extends` merged the way the runner merges it. */
export interface PipelineGraph {
  /** The file and every file it extends, nearest first (absolute paths). */
  readonly files: ReadonlyArray<string>
  readonly plugins: ReadonlyArray<string>
  readonly stages: ReadonlyArray<StageNode>
  /** What kept a part of the graph from being read. */
  readonly problems: ReadonlyArray<Problem>
}

export interface Problem {
  readonly file: string
  readonly line: number
  readonly column: number
  readonly message: string
}

// The stage id a reference starts with: `norm.volumes`, `ft[seed=1].segmenter`, `data` (a malformed one names none).
const REF_STAGE = /^[A-Za-z_][A-Za-z0-9_-]*(?=$|[.[])/

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/**
 * Reads the stage graph of a pipeline without validating it: the Nx plug-in runs on every Nx
 * command, so it reads only what the graph needs (stage ids, `uses`, the stages each `in:` refers
 * to, `plugins`, the `extends` chain) and leaves validation to `tomoprior plan`. It never throws: a
 * file it cannot read contributes problems and whatever stages were readable. A test holds this
 * reading equal to the runner's own (`readPipelineSpec`) on every pipeline in the repository.
 */
export const readPipelineGraph = (file: string): PipelineGraph => {
  const problems: Array<Problem> = []
  const files: Array<string> = []
  const stages = new Map<string, { uses?: string; in: Record<string, unknown> }>()
  const plugins: Array<string> = []
  const visit = (path: string): void => {
    if (files.includes(path)) {
      problems.push({ file: files.at(-1)!, line: 1, column: 1, message: `extends cycle through ${path}` })
      return
    }
    files.push(path)
    const top = readTop(path, problems)
    if (!top) return
    if (typeof top.value.extends === "string") {
      const base = resolve(dirname(path), top.value.extends)
      if (existsSync(base)) visit(base)
      else problems.push({ ...top.at("extends"), message: `extended file not found: ${top.value.extends}` })
    }
    if (Array.isArray(top.value.plugins)) plugins.push(...top.value.plugins.filter((p): p is string => typeof p === "string"))
    if (!isRecord(top.value.stages)) return
    for (const [id, raw] of Object.entries(top.value.stages)) {
      // As in the runner: `id: null` in an extending file drops the inherited stage.
      if (raw === null) stages.delete(id)
      if (!isRecord(raw)) continue
      const own = { uses: typeof raw.uses === "string" ? raw.uses : undefined, in: isRecord(raw.in) ? raw.in : {} }
      const inherited = stages.get(id)
      // As in the runner: an override without `uses:` refines the inherited stage, with `uses:` it replaces it.
      stages.set(id, inherited && !own.uses ? { uses: inherited.uses, in: { ...inherited.in, ...own.in } } : own)
    }
  }
  visit(resolve(file))
  return {
    files,
    plugins: [...new Set(plugins)],
    stages: [...stages].map(([id, s]) => ({ id, uses: s.uses, upstream: upstreamOf(s.in, stages) })),
    problems
  }
}

const upstreamOf = (inputs: Record<string, unknown>, stages: ReadonlyMap<string, unknown>): Array<string> => {
  const refs = Object.values(inputs).flatMap((v) => (Array.isArray(v) ? v : [v]))
  const ids = refs.flatMap((r) => (typeof r === "string" ? (REF_STAGE.exec(r)?.[0] ?? []) : []))
  return [...new Set(ids)].filter((id) => stages.has(id)).sort()
}

interface Top {
  readonly value: Record<string, unknown>
  /** Where a top-level key's value is. */
  readonly at: (key: string) => Omit<Problem, "message">
}

const readTop = (file: string, problems: Array<Problem>): Top | undefined => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    problems.push({ file, line: 1, column: 1, message: `cannot read: ${(e as Error).message}` })
    return undefined
  }
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false })
  const where = (offset: number) => {
    const p = lines.linePos(offset)
    return { file, line: p.line, column: p.col }
  }
  for (const e of doc.errors) problems.push({ ...where(e.pos[0]), message: `YAML: ${e.message.split("\n")[0]}` })
  if (doc.errors.length > 0) return undefined
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 100 })
  } catch (e) {
    problems.push({ file, line: 1, column: 1, message: `YAML: ${(e as Error).message.split("\n")[0]}` })
    return undefined
  }
  if (!isRecord(value)) {
    problems.push({ file, line: 1, column: 1, message: "a pipeline file must be a mapping" })
    return undefined
  }
  const at = (key: string) => {
    const top = doc.contents
    const pair = isMap(top) ? top.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key) : undefined
    return where((pair?.value as Node | null | undefined)?.range?.[0] ?? 0)
  }
  return { value, at }
}
