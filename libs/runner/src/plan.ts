import { canonicalJson } from "@tomoprior/core"
import { Effect } from "effect"
import type { FileHasher } from "./hash.ts"
import { type KeyParts, cacheKey, externalHashes, stageCodeHash } from "./keys.ts"
import { type LockEntry, type LockFile, previousEntry } from "./lockfile.ts"
import type { PlanNode, ResolvedPipeline } from "./resolve.ts"
import { Store } from "./store.ts"
import { describeDamage } from "./artifact-check.ts"

export interface StagePlan {
  readonly stage: string
  readonly uses: string
  readonly status: "cached" | "run"
  readonly reasons: ReadonlyArray<string>
  /** Known when every input is known (i.e. no upstream stage reruns). */
  readonly key?: string
}

/** Whether a node is selected by a `--force`/`--only` name: its id, or the stage id of its matrix. */
export const matches = (node: PlanNode, name: string): boolean => node.id === name || node.specId === name

/** `--only X`: X and everything upstream of it. */
export const selectNodes = (p: ResolvedPipeline, only: ReadonlyArray<string>): ReadonlyArray<PlanNode> => {
  if (only.length === 0) return p.nodes
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const keep = new Set<string>()
  const add = (n: PlanNode) => {
    if (keep.has(n.id)) return
    keep.add(n.id)
    for (const d of n.deps) add(byId.get(d)!)
  }
  for (const n of p.nodes) if (only.some((o) => matches(n, o))) add(n)
  return p.nodes.filter((n) => keep.has(n.id))
}

/** The key components of a node given its input hashes. */
export const keyParts = (node: PlanNode, inputs: KeyParts["inputs"], pipelineDir: string, hasher: FileHasher) =>
  Effect.gen(function* () {
    const code = yield* Effect.promise(() => stageCodeHash(node.stage, hasher))
    const external = yield* externalHashes(node.stage, node.params, pipelineDir, hasher)
    const parts: KeyParts = { uses: node.stage.name, version: node.stage.version, code, params: node.params, inputs, external }
    return { parts, key: yield* Effect.promise(() => cacheKey(parts)) }
  })

/** Input hashes of a node from its producers' outputs, or undefined if some producer has not run yet. */
export const inputHashes = (
  node: PlanNode,
  outputsOf: (node: string) => Readonly<Record<string, string>> | undefined
): KeyParts["inputs"] | undefined => {
  const out: Record<string, string | ReadonlyArray<string>> = {}
  for (const [port, { many, wires }] of Object.entries(node.inputs)) {
    const hashes: Array<string> = []
    for (const w of wires) {
      const h = outputsOf(w.node)?.[w.output]
      if (h === undefined) return undefined
      hashes.push(h)
    }
    out[port] = many ? hashes : hashes[0]
  }
  return out
}

/**
 * Why a stage must run, compared with what the lock file says ran last time. `inputs` is undefined
 * when an upstream stage reruns (its output hash is not known yet).
 */
export const explain = (
  node: PlanNode,
  prev: LockEntry | undefined,
  parts: Omit<KeyParts, "inputs"> & { inputs?: KeyParts["inputs"] }
): Array<string> => {
  if (!prev) return ["no previous run"]
  if (prev.uses !== parts.uses) return [`stage type changed ${prev.uses} → ${parts.uses}`]
  const reasons: Array<string> = []
  if (prev.version !== parts.version) reasons.push(`stage version ${prev.version} → ${parts.version}`)
  if (prev.code !== parts.code) reasons.push("stage code changed")
  reasons.push(...diffParams(prev.params, parts.params))
  if (parts.inputs)
    for (const port of new Set([...Object.keys(prev.inputs), ...Object.keys(parts.inputs)])) {
      if (canonicalJson(prev.inputs[port]) === canonicalJson(parts.inputs[port])) continue
      const refs = [...new Set(node.inputs[port]?.wires.map((w) => w.ref) ?? [])]
      reasons.push(refs.length ? `input \`${refs.join(", ")}\` changed` : `input \`${port}\` removed`)
    }
  for (const f of new Set([...Object.keys(prev.external), ...Object.keys(parts.external)])) {
    if (prev.external[f] === parts.external[f]) continue
    reasons.push(
      prev.external[f] === undefined
        ? `file ${f} added`
        : parts.external[f] === undefined
          ? `file ${f} no longer read`
          : `file ${f} changed`
    )
  }
  return reasons
}

const show = (v: unknown): string => (v === undefined ? "(unset)" : canonicalJson(v))

/** Leaf-by-leaf differences, e.g. "param `optimizer.lr` 0.001 → 0.0003". */
export const diffParams = (a: unknown, b: unknown, path = ""): Array<string> => {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)
  if (isObj(a) && isObj(b))
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().flatMap((k) => diffParams(a[k], b[k], path ? `${path}.${k}` : k))
  if (canonicalJson(a ?? null) === canonicalJson(b ?? null)) return []
  return [`param \`${path || "(all)"}\` ${show(a)} → ${show(b)}`]
}

/**
 * A dry run: for every stage, whether it is cached and why not. Cached upstream outputs give the
 * exact keys downstream; below a stage that reruns, keys are unknown until it runs.
 */
export const planPipeline = (
  p: ResolvedPipeline,
  lock: LockFile | undefined,
  options: { readonly force?: ReadonlyArray<string>; readonly only?: ReadonlyArray<string> } = {}
) =>
  Effect.gen(function* () {
    const store = yield* Store
    const hasher = store.hashes
    const outputs = new Map<string, Record<string, string>>()
    const plans: Array<StagePlan> = []
    const byId = new Map<string, StagePlan>()
    const specOf = new Map(p.nodes.map((n) => [n.id, n.specId]))
    for (const node of selectNodes(p, options.only ?? [])) {
      const prev = previousEntry(lock, p.variant, node.id)
      const forced = (options.force ?? []).some((f) => matches(node, f))
      const inputs = inputHashes(node, (id) => outputs.get(id))
      let plan: StagePlan
      if (!inputs) {
        const { parts } = yield* keyParts(node, {}, p.dir, hasher)
        // Name matrix stages once, not once per run.
        const rerunning = [...new Set(node.deps.filter((d) => byId.get(d)?.status === "run").map((d) => specOf.get(d)!))]
        const named =
          rerunning
            .slice(0, 4)
            .map((d) => `\`${d}\``)
            .join(", ") + (rerunning.length > 4 ? ` and ${rerunning.length - 4} more` : "")
        const reasons = [...(forced ? ["forced"] : []), ...explain(node, prev, { ...parts, inputs: undefined })]
        reasons.push(`upstream ${named} will rerun`)
        plan = { stage: node.id, uses: node.stage.name, status: "run", reasons }
      } else {
        const { parts, key } = yield* keyParts(node, inputs, p.dir, hasher)
        const found = yield* store.lookup(key)
        if (found.status === "hit" && !forced) {
          outputs.set(node.id, Object.fromEntries(Object.entries(found.outputs).map(([k, r]) => [k, r.hash])))
          plan = {
            stage: node.id,
            uses: node.stage.name,
            status: "cached",
            key,
            reasons: [prev && prev.key !== key ? "cached (by an earlier run with these inputs)" : "cached"]
          }
        } else {
          const diff = explain(node, prev, parts)
          const reasons = forced
            ? ["forced"]
            : found.status === "damaged"
              ? [...found.damage.map(describeDamage), "`tomoprior verify --repair` evicts it; a run recomputes it"]
              : prev?.key === key
                ? ["cached result missing from store"]
                : diff.length
                  ? diff
                  : ["cache key format changed"]
          plan = { stage: node.id, uses: node.stage.name, status: "run", key, reasons }
        }
      }
      plans.push(plan)
      byId.set(node.id, plan)
    }
    return plans
  })
