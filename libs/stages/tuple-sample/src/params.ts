import { withDefault } from "@tomoprior/core"
import { Schema } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** tuple-sample's params, with every default and rule. */
export const TupleSampleParams = Schema.Struct({
  mode: withDefault(
    Schema.Literals(["unique", "even", "aligned"]).annotate({
      description:
        "unique: B distinct positions of one volume; even: uniform positions, repeats allowed; " +
        "aligned: the same relative positions across volumes"
    }),
    "unique"
  ),
  groupSize: withDefault(PositiveInt.check(Schema.isGreaterThanOrEqualTo(2)).annotate({ description: "Slices per group (B)" }), 16),
  groupsPerEpoch: withDefault(PositiveInt.annotate({ description: "Groups drawn per epoch" }), 64),
  epochs: withDefault(PositiveInt.annotate({ description: "Epochs of groups, each drawn from its own stream" }), 4),
  axis: withDefault(Schema.Literals(["z", "y", "x"]).annotate({ description: "The axis slices are ordered along" }), "z"),
  minGap: withDefault(
    PositiveInt.annotate({ description: "Smallest distance in slices between two members of a group (unique and aligned)" }),
    1
  ),
  seed: withDefault(Schema.Int.annotate({ description: "Seed of the split and of every group" }), 0),
  validation: withDefault(
    Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "Held-out volumes for validation: a fraction below 1, or a whole count"
    }),
    0.25
  )
}).check(
  Schema.makeFilter(
    (p) =>
      p.mode === "even" && p.minGap > 1
        ? { path: ["minGap"], issue: "mode `even` allows repeated slices, so `minGap` must stay 1; use mode `unique` for a gap" }
        : undefined,
    { description: "`minGap` above 1 needs mode `unique` or `aligned` (`even` repeats slices)" }
  ),
  Schema.makeFilter(
    (p) =>
      p.validation >= 1 && !Number.isInteger(p.validation)
        ? { path: ["validation"], issue: `validation ${p.validation}: give a fraction below 1 or a whole count of volumes` }
        : undefined,
    { description: "`validation` of 1 or more is a whole count of volumes" }
  )
)
export type TupleSampleParams = typeof TupleSampleParams.Type
