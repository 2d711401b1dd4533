import type { Diagnostic, Resources } from "@tomoprior/core"
import type { YamlFile } from "../yaml-file.ts"

/**
 * What a stage's Slurm job asks for, from the pipeline's `slurm:` block and the stage's own
 * (`sbatch` option names in camelCase). Not part of any cache key: where a stage runs does not
 * change what it computes.
 */
export interface SlurmOptions {
  readonly partition?: string
  /** `sbatch --time`: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS. */
  readonly time?: string
  /** `sbatch --mem`: memory per node, e.g. 4G, 500M. */
  readonly mem?: string
  readonly cpusPerTask?: number
  /** `sbatch --gres`, e.g. gpu:1. */
  readonly gres?: string
  readonly account?: string
  readonly qos?: string
  /** More `sbatch` options, passed as written after the ones above, e.g. ["--constraint=avx2"]. */
  readonly extra?: ReadonlyArray<string>
}

export const EXECUTOR_KINDS = ["local", "slurm"] as const
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number]

/** The pipeline's `executor:` block (`executor: slurm` is short for `{ kind: slurm }`). */
export interface ExecutorSettings {
  readonly kind: ExecutorKind
  /** Jobs in the queue at once (default 100). */
  readonly maxJobs?: number
  /** How often the queue is asked about the jobs, in seconds (default 2). */
  readonly pollSeconds?: number
  /** Shell lines a job runs before `tomoprior`, e.g. `module load nodejs/20`. */
  readonly setup?: ReadonlyArray<string>
}

const SLURM_KEYS = ["partition", "time", "mem", "cpusPerTask", "gres", "account", "qos", "extra"] as const
const EXECUTOR_KEYS = ["kind", "maxJobs", "pollSeconds", "setup"] as const

const TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2})$/
const MEM = /^\d+[KMGT]?$/i
/** One word: these values become single `sbatch` arguments. */
const WORD = /^[^\s=]+$/

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/**
 * Reads a `slurm:` block (of the pipeline or of a stage at `path`), reporting each bad field where
 * it is written. Returns what was well-formed.
 */
export const readSlurmBlock = (y: YamlFile, path: ReadonlyArray<string>, raw: unknown, diagnostics: Array<Diagnostic>): SlurmOptions => {
  if (raw === undefined || raw === null) return {}
  if (!isRecord(raw)) {
    diagnostics.push({
      location: y.locate(path),
      message: "`slurm` must be a mapping of sbatch settings",
      hint: `e.g. \`slurm: { partition: gpu, time: "2:00:00", mem: 8G }\`; keys: ${SLURM_KEYS.join(", ")}`
    })
    return {}
  }
  const out: { -readonly [K in keyof SlurmOptions]: SlurmOptions[K] } = {}
  const bad = (key: string, message: string, hint?: string) =>
    diagnostics.push({ location: y.locate([...path, key]), message: `slurm.${key} ${message}`, ...(hint ? { hint } : {}) })
  for (const [key, v] of Object.entries(raw)) {
    switch (key) {
      case "partition":
      case "gres":
      case "account":
      case "qos":
        if (typeof v === "string" && WORD.test(v)) out[key] = v
        else bad(key, "must be one word", "as you would write it after `sbatch --" + key + "=`")
        break
      case "time": {
        const text = typeof v === "number" && Number.isInteger(v) && v > 0 ? String(v) : v
        if (typeof text === "string" && TIME.test(text)) out.time = text
        else
          bad(key, `must be a Slurm time limit, not ${JSON.stringify(v)}`, 'minutes (30), "HH:MM:SS" ("2:00:00") or "D-HH:MM" ("1-12:00")')
        break
      }
      case "mem":
        if (typeof v === "string" && MEM.test(v)) out.mem = v
        else bad(key, `must be an amount of memory like 4G or 500M, not ${JSON.stringify(v)}`)
        break
      case "cpusPerTask":
        if (Number.isInteger(v) && (v as number) > 0) out.cpusPerTask = v as number
        else bad(key, `must be a whole number ≥ 1, not ${JSON.stringify(v)}`)
        break
      case "extra":
        if (Array.isArray(v) && v.every((o) => typeof o === "string" && o.startsWith("-"))) out.extra = v as Array<string>
        else bad(key, "must be a list of sbatch options", 'e.g. `extra: ["--constraint=avx2", "--nice=10"]`')
        break
      default:
        diagnostics.push({
          location: y.locate([...path, key], true),
          message: `unknown slurm setting \`${key}\``,
          hint: `allowed: ${SLURM_KEYS.join(", ")}`
        })
    }
  }
  return out
}

/** Reads the pipeline's `executor:` block. */
export const readExecutorBlock = (y: YamlFile, raw: unknown, diagnostics: Array<Diagnostic>): ExecutorSettings | undefined => {
  if (raw === undefined || raw === null) return undefined
  const kindHint = `one of: ${EXECUTOR_KINDS.join(", ")}`
  if (typeof raw === "string") {
    if ((EXECUTOR_KINDS as ReadonlyArray<string>).includes(raw)) return { kind: raw as ExecutorKind }
    diagnostics.push({ location: y.locate(["executor"]), message: `unknown executor \`${raw}\``, hint: kindHint })
    return undefined
  }
  if (!isRecord(raw)) {
    diagnostics.push({
      location: y.locate(["executor"]),
      message: "`executor` must be `local`, `slurm` or a mapping like `{ kind: slurm, maxJobs: 50 }`"
    })
    return undefined
  }
  const out: { -readonly [K in keyof ExecutorSettings]: ExecutorSettings[K] } = { kind: "local" }
  for (const [key, v] of Object.entries(raw)) {
    const at = y.locate(["executor", key])
    if (key === "kind") {
      if ((EXECUTOR_KINDS as ReadonlyArray<unknown>).includes(v)) out.kind = v as ExecutorKind
      else diagnostics.push({ location: at, message: `unknown executor \`${String(v)}\``, hint: kindHint })
    } else if (key === "maxJobs") {
      if (Number.isInteger(v) && (v as number) > 0) out.maxJobs = v as number
      else diagnostics.push({ location: at, message: "`executor.maxJobs` must be a whole number ≥ 1" })
    } else if (key === "pollSeconds") {
      if (typeof v === "number" && v >= 0.1) out.pollSeconds = v
      else diagnostics.push({ location: at, message: "`executor.pollSeconds` must be a number of seconds ≥ 0.1" })
    } else if (key === "setup") {
      if (Array.isArray(v) && v.every((l) => typeof l === "string" && !l.includes("\n"))) out.setup = v as Array<string>
      else
        diagnostics.push({
          location: at,
          message: "`executor.setup` must be a list of shell lines",
          hint: 'e.g. `setup: ["module load nodejs/20"]`'
        })
    } else
      diagnostics.push({
        location: y.locate(["executor", key], true),
        message: `unknown executor setting \`${key}\``,
        hint: `allowed: ${EXECUTOR_KEYS.join(", ")}`
      })
  }
  if (raw.kind === undefined) diagnostics.push({ location: y.locate(["executor"]), message: "`executor` needs a `kind`", hint: kindHint })
  return out
}

/** A stage's settings over the pipeline's: the stage's keys win, `extra` options add up. */
export const mergeSlurm = (base: SlurmOptions, over: SlurmOptions): SlurmOptions => {
  const extra = [...(base.extra ?? []), ...(over.extra ?? [])]
  return { ...base, ...over, ...(extra.length ? { extra } : {}) }
}

/**
 * The `sbatch` options for one stage. A stage that declares `resources.cpu: all` (training) gets a
 * whole node unless `cpusPerTask` says how many CPUs; the others one CPU.
 */
export const sbatchResourceArgs = (resources: Resources | undefined, o: SlurmOptions): Array<string> => [
  ...(o.cpusPerTask !== undefined
    ? [`--cpus-per-task=${o.cpusPerTask}`]
    : resources?.cpu === "all"
      ? ["--exclusive"]
      : ["--cpus-per-task=1"]),
  ...(o.partition ? [`--partition=${o.partition}`] : []),
  ...(o.time ? [`--time=${o.time}`] : []),
  ...(o.mem ? [`--mem=${o.mem}`] : []),
  ...(o.gres ? [`--gres=${o.gres}`] : []),
  ...(o.account ? [`--account=${o.account}`] : []),
  ...(o.qos ? [`--qos=${o.qos}`] : []),
  ...(o.extra ?? [])
]
