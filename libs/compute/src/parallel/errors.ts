import { Schema } from "effect"

/** The trainer could not do what was asked; `operation` says which call, `reason` what to fix. */
export class TrainerError extends Schema.TaggedError<TrainerError>()("TrainerError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `trainer ${this.operation}: ${this.reason}`
  }
}
