import { withDefault } from "@tomoprior/core"
import { Schema } from "effect"

/** embed's params, with every default. */
export const EmbedParams = Schema.Struct({
  batchSize: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "Slices per inference batch" }), 32)
})
export type EmbedParams = typeof EmbedParams.Type
