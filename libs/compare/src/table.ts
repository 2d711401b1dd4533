import { canonicalJson } from "@tomoprior/core"
import { type StoreLayout, artifactDir } from "@tomoprior/runner"
import { Effect } from "effect"
import { artifactHeadlines, type Headline } from "./headlines.ts"
import type { RecordedRun } from "./runs.ts"

/** Runs side by side: the params that differ between them and their headline metrics. */
export interface Comparison {
  readonly runs: ReadonlyArray<{
    readonly label: string
    readonly pipeline: string
    readonly variant?: string
    readonly set: Readonly<Record<string, unknown>>
    readonly runId?: string
    readonly lockFile: string
  }>
  /** `stage.param` (or `stage` when a stage's type differs) → the value per run, null where absent. */
  readonly params: ReadonlyArray<{ readonly name: string; readonly values: ReadonlyArray<string | null> }>
  /** Headline → the value per run, null where the run has none; `difference` = second − first for two runs. */
  readonly metrics: ReadonlyArray<{
    readonly name: string
    readonly scale: Headline["scale"]
    readonly values: ReadonlyArray<Omit<Headline, "name" | "scale"> | null>
    readonly difference?: number
  }>
  /** Stages whose results are not in this store (run them against it, or pass its --store). */
  readonly missing: ReadonlyArray<string>
  /** Results whose index cannot be read (e.g. a plug-in's artifact of a built-in kind): no headlines. */
  readonly unreadable: ReadonlyArray<{ readonly stage: string; readonly problem: string }>
}

/** `ft[fraction=0.1,seed=2]` → `ft`: a matrix stage's runs share its params except the matrix keys. */
const specIdOf = (stage: string): string => stage.replace(/\[.*\]$/, "")

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

const leaves = (value: unknown, prefix: string, out: Map<string, string>): void => {
  if (isRecord(value)) for (const [k, v] of Object.entries(value)) leaves(v, `${prefix}.${k}`, out)
  else out.set(prefix, canonicalJson(value ?? null))
}

/**
 * A run's params as `stage.param` → canonical value, with the stage type under `stage`. A leaf
 * that differs between a matrix stage's runs is its matrix dimension, not a setting: left out.
 */
const flatParams = (run: RecordedRun): Map<string, string> => {
  const bySpec = new Map<string, Array<Map<string, string>>>()
  for (const [id, entry] of Object.entries(run.stages)) {
    const spec = specIdOf(id)
    const flat = new Map<string, string>([[spec, entry.uses]])
    leaves(entry.params, spec, flat)
    bySpec.set(spec, [...(bySpec.get(spec) ?? []), flat])
  }
  const out = new Map<string, string>()
  for (const instances of bySpec.values()) for (const [k, v] of instances[0]) if (instances.every((i) => i.get(k) === v)) out.set(k, v)
  return out
}

/** What a run is called in tables and legends: its variant, prefixed by its pipeline when several are shown. */
export const runLabels = (runs: ReadonlyArray<RecordedRun>): Array<string> => {
  const manyPipelines = new Set(runs.map((r) => r.lockFile)).size > 1
  return runs.map((r) => (r.variant === undefined ? r.pipeline : manyPipelines ? `${r.pipeline} ${r.variant}` : r.variant))
}

/** Builds the comparison, reading each run's artifacts from the store. */
export const compareRuns = (runs: ReadonlyArray<RecordedRun>, store: StoreLayout) =>
  Effect.gen(function* () {
    const flat = runs.map(flatParams)
    // A stage's type is one row when it differs or the stage is missing somewhere. Its params are
    // compared among the runs that have it, and not at all when two runs give it different types.
    const stageRows = [...new Set(flat.flatMap((f) => [...f.keys()].filter((k) => !k.includes("."))))]
    const swapped = new Set(stageRows.filter((s) => new Set(flat.flatMap((f) => f.get(s) ?? [])).size > 1))
    const params: Array<Comparison["params"][number]> = []
    for (const key of [...new Set(flat.flatMap((f) => [...f.keys()]))].sort()) {
      const stage = key.split(".")[0]
      if (key.includes(".") && swapped.has(stage)) continue
      const values = flat.map((f) => f.get(key) ?? null)
      const among = key.includes(".") ? values.filter((v, i) => flat[i].has(stage)) : values
      if (new Set(among).size > 1) params.push({ name: key, values })
    }

    const missing = new Set<string>()
    const unreadable = new Map<string, string>()
    const perRun: Array<Map<string, Headline>> = []
    for (const run of runs) {
      const found = new Map<string, Headline>()
      for (const [stage, entry] of Object.entries(run.stages))
        for (const hash of Object.values(entry.outputs)) {
          const read = yield* Effect.result(artifactHeadlines(stage, artifactDir(store, hash)))
          if (read._tag === "Failure") unreadable.set(stage, read.failure.message)
          else if (read.success === undefined) missing.add(stage)
          else for (const h of read.success) found.set(h.name, h)
        }
      perRun.push(found)
    }
    const names = [...new Set(perRun.flatMap((m) => [...m.keys()]))]
    const metrics = names.map((name) => {
      const cells = perRun.map((m) => m.get(name) ?? null)
      const scale = cells.find((c) => c !== null)!.scale
      const values = cells.map((c) =>
        c === null
          ? null
          : {
              value: c.value,
              ...(c.std !== undefined ? { std: c.std } : {}),
              ...(c.n !== undefined ? { n: c.n } : {}),
              ...(c.interval !== undefined ? { interval: c.interval } : {})
            }
      )
      const difference = runs.length === 2 && cells[0] && cells[1] ? cells[1].value - cells[0].value : undefined
      return { name, scale, values, ...(difference !== undefined ? { difference } : {}) }
    })
    const labels = runLabels(runs)
    return {
      runs: runs.map((r, i) => ({
        label: labels[i],
        pipeline: r.pipeline,
        ...(r.variant !== undefined ? { variant: r.variant } : {}),
        set: r.set,
        ...(r.runId ? { runId: r.runId } : {}),
        lockFile: r.lockFile
      })),
      params,
      metrics,
      missing: [...missing].sort(),
      unreadable: [...unreadable].map(([stage, problem]) => ({ stage, problem }))
    } satisfies Comparison
  })
