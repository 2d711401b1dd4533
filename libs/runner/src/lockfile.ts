import { Schema } from "effect"
import { writeJsonAtomic, readJsonFile } from "./json.ts"

export const LockEntry = Schema.Struct({
  uses: Schema.String,
  version: Schema.String,
  code: Schema.String,
  params: Schema.Unknown,
  inputs: Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Array(Schema.String)])),
  external: Schema.Record(Schema.String, Schema.String),
  key: Schema.String,
  outputs: Schema.Record(Schema.String, Schema.String)
})
export type LockEntry = typeof LockEntry.Type

const LockStages = Schema.Record(Schema.String, LockEntry)

/** What the last run of one `--set` variant recorded: its overrides and its stages. */
export const VariantLock = Schema.Struct({
  set: Schema.Record(Schema.String, Schema.Unknown),
  runId: Schema.optional(Schema.String),
  stages: LockStages
})
export type VariantLock = typeof VariantLock.Type

/**
 * `<pipeline>.lock.json`: what ran last, with which key components, producing which artifacts —
 * for the pipeline as written (`stages`) and for each `--set` variant by name (`variants`).
 */
export const LockFile = Schema.Struct({
  pipeline: Schema.String,
  /** The run that last wrote `stages`. */
  runId: Schema.optional(Schema.String),
  stages: LockStages,
  variants: Schema.optional(Schema.Record(Schema.String, VariantLock))
})
export type LockFile = typeof LockFile.Type

export const lockPathFor = (pipelineFile: string): string => pipelineFile.replace(/\.ya?ml$/i, "") + ".lock.json"

export const readLock = (file: string): Promise<LockFile | undefined> => readJsonFile(file, LockFile)

export const writeLock = (file: string, lock: LockFile): Promise<void> => writeJsonAtomic(file, lock, true)

/** A `--set` variant as the lock file names it; undefined = the pipeline as written. */
export interface VariantRef {
  readonly name: string
  readonly set: Readonly<Record<string, unknown>>
}

/** The stages a variant's (or the plain pipeline's) last run recorded. */
export const lockStages = (lock: LockFile | undefined, variant: VariantRef | undefined): LockFile["stages"] | undefined =>
  variant ? lock?.variants?.[variant.name]?.stages : lock?.stages

/**
 * What a stage is compared with to explain a rerun: the variant's own last run of it, else the
 * plain pipeline's, so a new variant reads as an edit of the pipeline ("param `margin` 0.2 → 0.5").
 */
export const previousEntry = (lock: LockFile | undefined, variant: VariantRef | undefined, stage: string): LockEntry | undefined =>
  lockStages(lock, variant)?.[stage] ?? lock?.stages[stage]

/** `lock` with one section's stages (and the run that wrote them) replaced. */
export const withLockStages = (lock: LockFile, variant: VariantRef | undefined, stages: LockFile["stages"], runId: string): LockFile =>
  variant
    ? { ...lock, variants: { ...lock.variants, [variant.name]: { set: { ...variant.set }, runId, stages } } }
    : { ...lock, runId, stages }

/** Every entry of every section: what the lock file keeps alive in the store. */
export const allLockEntries = (lock: LockFile): Array<LockEntry> => [
  ...Object.values(lock.stages),
  ...Object.values(lock.variants ?? {}).flatMap((v) => Object.values(v.stages))
]
