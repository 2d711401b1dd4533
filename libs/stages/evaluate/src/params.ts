import { withDefault } from "@tomoprior/core"
import { Schema } from "effect"

/** evaluate's params, with every default. */
export const EvaluateParams = Schema.Struct({
  batchSize: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "Slices per inference batch" }), 16),
  examples: withDefault(
    Schema.Boolean.annotate({
      description: "Draw example slices per pre-training × budget (the best-labeled slice of each split, lowest seed)"
    }),
    true
  )
})
export type EvaluateParams = typeof EvaluateParams.Type
