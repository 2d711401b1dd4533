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

/** `<pipeline>.lock.json`: what ran last, with which key components, producing which artifacts. */
export const LockFile = Schema.Struct({
  pipeline: Schema.String,
  stages: Schema.Record(Schema.String, LockEntry)
})
export type LockFile = typeof LockFile.Type

export const lockPathFor = (pipelineFile: string): string => pipelineFile.replace(/\.ya?ml$/i, "") + ".lock.json"

export const readLock = (file: string): Promise<LockFile | undefined> => readJsonFile(file, LockFile)

export const writeLock = (file: string, lock: LockFile): Promise<void> => writeJsonAtomic(file, lock, true)
