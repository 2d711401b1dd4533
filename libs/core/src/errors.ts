import { Schema } from "effect"
import type { CheckpointError, ComputeError, TrainerError } from "./compute.ts"

/** A place in a pipeline file, 1-based like every editor. */
export const SourceLocation = Schema.Struct({
  file: Schema.String,
  line: Schema.Number,
  column: Schema.Number
})
export type SourceLocation = typeof SourceLocation.Type

export const Diagnostic = Schema.Struct({
  location: Schema.optional(SourceLocation),
  message: Schema.String,
  hint: Schema.optional(Schema.String)
})
export type Diagnostic = typeof Diagnostic.Type

/** Everything wrong with a pipeline file, found before anything runs. */
export class PipelineInvalid extends Schema.TaggedError<PipelineInvalid>()("PipelineInvalid", {
  file: Schema.String,
  diagnostics: Schema.Array(Diagnostic)
}) {
  override get message(): string {
    return this.diagnostics.map(formatDiagnostic).join("\n")
  }
}

export const formatDiagnostic = (d: Diagnostic): string => {
  const where = d.location ? `${d.location.file}:${d.location.line}:${d.location.column}: ` : ""
  return `${where}${d.message}${d.hint ? `\n  hint: ${d.hint}` : ""}`
}

/** An input file or artifact a stage cannot use; names the file and what is wrong with it. */
export class InputError extends Schema.TaggedError<InputError>()("InputError", {
  file: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.problem}`
  }
}

/** A stage could not do its job for a reason that is not about one input file. */
export class StageFailure extends Schema.TaggedError<StageFailure>()("StageFailure", {
  stage: Schema.String,
  reason: Schema.String,
  hint: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `${this.stage}: ${this.reason}${this.hint ? ` (hint: ${this.hint})` : ""}`
  }
}

/** A compute backend was requested that is not installed or does not load. */
export class BackendUnavailable extends Schema.TaggedError<BackendUnavailable>()("BackendUnavailable", {
  backend: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `compute backend '${this.backend}' is unavailable: ${this.reason}`
  }
}

/**
 * What to do about the usual system errors behind a failed write, by errno code (ENOSPC…): shown
 * with the error, so a full disk reads as a full disk and not as a crash.
 */
export const SYSTEM_ERROR_HINTS: Readonly<Record<string, string>> = {
  ENOSPC:
    "the filesystem is full; nothing half-written was kept. Free space (`tomoprior gc` deletes results no lock file needs) " +
    "or point --store at a larger filesystem, then run again",
  EDQUOT: "your disk quota is used up; free space (`tomoprior gc` helps) or point --store elsewhere, then run again",
  EACCES: "this user may not write there; fix the permissions or point --store at a directory you own",
  EPERM: "this user may not write there; fix the permissions or point --store at a directory you own",
  EROFS: "the filesystem is read-only; point --store at a writable directory"
}

/** The system's reason for a failed file operation, and its errno code (ENOSPC…) when it has one. */
export const systemReason = (e: unknown): { readonly reason: string; readonly code?: string } => {
  const code = (e as { code?: unknown } | undefined)?.code
  const text = (e instanceof Error ? e.message : String(e)).split("\n")[0]
  if (typeof code !== "string") return { reason: text }
  // "ENOSPC: no space left on device, write" → "no space left on device": the code and path are shown apart
  return { reason: text.replace(/^[A-Z]+: /, "").replace(/, \w+( '[^']*'( -> '[^']*')?)?$/, ""), code }
}

/** `text`, followed by what to do when `code` is one of the usual system errors. */
export const withSystemHint = (text: string, code: string | undefined): string => {
  const hint = code === undefined ? undefined : SYSTEM_ERROR_HINTS[code]
  return hint ? `${text}\n  hint: ${hint}` : text
}

/** An output file the stage could not write (a full disk, permissions); names the file and the system's reason. */
export class OutputError extends Schema.TaggedError<OutputError>()("OutputError", {
  file: Schema.String,
  reason: Schema.String,
  code: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return withSystemHint(`cannot write ${this.file}: ${this.reason}`, this.code)
  }
}

/** Errors a stage's `run` may fail with. */
export type StageError = InputError | OutputError | StageFailure | BackendUnavailable | TrainerError | CheckpointError | ComputeError
