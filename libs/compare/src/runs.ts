import type { Diagnostic } from "@tomoprior/core"
import { type LockFile, type RootCopy, expandVariants, lockPathFor, parseSetFlag, readLock } from "@tomoprior/runner"
import { Effect, Schema } from "effect"
import { existsSync } from "node:fs"
import { resolve } from "node:path"

/** One recorded run of a pipeline: the plain pipeline's section of a lock file, or one `--set` variant's. */
export interface RecordedRun {
  readonly pipeline: string
  readonly lockFile: string
  /** The variant's name (`sorting.margin=0.5`); absent for the pipeline as written. */
  readonly variant?: string
  readonly set: Readonly<Record<string, unknown>>
  readonly runId?: string
  readonly stages: LockFile["stages"]
}

/** What `compare` was asked for cannot be found; the message says what to run or pass instead. */
export class NothingToCompare extends Schema.TaggedError<NothingToCompare>()("NothingToCompare", {
  problem: Schema.String
}) {
  override get message(): string {
    return this.problem
  }
}

/** Every run a lock file records: the plain pipeline (when it ran) and each variant, in that order. */
export const runsOfLock = (lockFile: string, lock: LockFile): Array<RecordedRun> => [
  ...(Object.keys(lock.stages).length > 0
    ? [{ pipeline: lock.pipeline, lockFile, set: {}, stages: lock.stages, ...(lock.runId ? { runId: lock.runId } : {}) }]
    : []),
  ...Object.entries(lock.variants ?? {}).map(([variant, v]) => ({
    pipeline: lock.pipeline,
    lockFile,
    variant,
    set: v.set,
    stages: v.stages,
    ...(v.runId ? { runId: v.runId } : {})
  }))
]

export interface Selection {
  /** Pipeline files, lock files or run ids. */
  readonly targets: ReadonlyArray<string>
  /** `--set` flags: keep only those variants (the names `run --set` gives them). */
  readonly set?: ReadonlyArray<string>
  /** Every lock file this store has written. */
  readonly all?: boolean
  readonly cwd: string
}

const isFile = (t: string) => /\.(ya?ml|json)$/i.test(t)

/**
 * The runs named by pipeline or lock files (each with all its variants), by run id (the variants
 * that run wrote, looked up in the store's copies of the lock files it wrote), or every run this
 * store recorded (`all`). `set` narrows every file to those variants.
 */
export const selectRuns = (selection: Selection, rootCopies: ReadonlyArray<RootCopy>) =>
  Effect.gen(function* () {
    const fail = (problem: string) => Effect.fail(new NothingToCompare({ problem }))
    const diagnostics: Array<Diagnostic> = []
    const flags = (selection.set ?? []).flatMap((t) => parseSetFlag(t, diagnostics) ?? [])
    const wanted = new Set(expandVariants(flags, diagnostics).map((v) => v.name))
    if (diagnostics.length > 0) return yield* fail(diagnostics.map((d) => d.message).join("\n"))
    if (selection.targets.length === 0 && !selection.all)
      return yield* fail("name what to compare: pipeline files, lock files or run ids (or --all for everything this store ran)")

    const runs: Array<RecordedRun> = []
    const fromCopies = [...rootCopies].sort((a, b) => a.lockFile.localeCompare(b.lockFile)).flatMap((c) => runsOfLock(c.lockFile, c.lock))
    if (selection.all) runs.push(...fromCopies)
    for (const target of selection.targets) {
      if (isFile(target)) {
        const path = resolve(selection.cwd, target)
        const lockFile = /\.json$/i.test(path) ? path : lockPathFor(path)
        const lock = yield* Effect.promise(() => readLock(lockFile))
        if (!lock)
          return yield* fail(
            existsSync(lockFile)
              ? `${lockFile} is not a lock file tomoprior can read`
              : `no lock file ${lockFile}: run the pipeline first (tomoprior run ${target})`
          )
        runs.push(...runsOfLock(lockFile, lock))
      } else {
        const found = fromCopies.filter((r) => r.runId === target)
        if (found.length === 0)
          return yield* fail(`no run \`${target}\` in this store's lock files (run ids are printed by \`tomoprior run\`: "run <id>: …")`)
        runs.push(...found)
      }
    }
    const unique = [...new Map(runs.map((r) => [`${r.lockFile}\n${r.variant ?? ""}`, r])).values()]
    const chosen = wanted.size > 0 ? unique.filter((r) => r.variant !== undefined && wanted.has(r.variant)) : unique
    if (wanted.size > 0)
      for (const name of wanted)
        if (!chosen.some((r) => r.variant === name))
          return yield* fail(
            `no variant \`${name}\` recorded in ${[...new Set(unique.map((r) => r.lockFile))].join(", ") || "the selection"}`
          )
    if (chosen.length === 0) return yield* fail("the selection holds no completed run")
    return chosen
  })
