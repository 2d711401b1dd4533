import { withDefault } from "@tomoprior/core"
import { Schema } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** localize's params, with every default. */
export const LocalizeParams = Schema.Struct({
  batchSize: withDefault(PositiveInt.annotate({ description: "Slices per inference batch" }), 32),
  partialLength: withDefault(
    Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)).annotate({
      description: "Length of each partial scan, as a share of its volume"
    }),
    0.3
  ),
  smoothing: withDefault(
    Schema.Literals(["isotonic", "none"]).annotate({
      description: "Localize on a monotone (isotonic) fit of each volume's scores, or on the raw scores"
    }),
    "isotonic"
  ),
  seed: withDefault(Schema.Int.annotate({ description: "Seed of the partial scans' positions" }), 0),
  references: withDefault(
    PositiveInt.annotate({ description: "Most reference volumes each query is located from at once (fewer when fewer exist)" }),
    20
  )
})
export type LocalizeParams = typeof LocalizeParams.Type
