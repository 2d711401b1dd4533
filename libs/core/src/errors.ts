import { Schema } from "effect"

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

/** Errors a stage's `run` may fail with. */
export type StageError = InputError | StageFailure | BackendUnavailable
