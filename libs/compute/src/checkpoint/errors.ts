import { Schema } from "effect"

export const ShapeMismatch = Schema.Struct({
  weight: Schema.String,
  source: Schema.Array(Schema.Number),
  target: Schema.Array(Schema.Number)
})
export type ShapeMismatch = typeof ShapeMismatch.Type

/** Weights that do not line up between two models; lists every offending name. */
export class WeightTransferMismatch extends Schema.TaggedError<WeightTransferMismatch>()("WeightTransferMismatch", {
  prefix: Schema.String,
  /** Layers the target expects that the source lacks. */
  missing: Schema.Array(Schema.String),
  /** Layers of the source (under the prefix) the target has no place for. */
  extra: Schema.Array(Schema.String),
  shapeMismatches: Schema.Array(ShapeMismatch)
}) {
  override get message(): string {
    const parts = [
      this.missing.length > 0 ? `missing in source: ${this.missing.join(", ")}` : "",
      this.extra.length > 0 ? `not in target: ${this.extra.join(", ")}` : "",
      ...this.shapeMismatches.map((m) => `${m.weight}: source [${m.source.join(",")}] vs target [${m.target.join(",")}]`)
    ].filter((p) => p !== "")
    return `cannot transfer '${this.prefix}*' weights (check that both models use the same architecture, width and depth): ${parts.join("; ")}`
  }
}
