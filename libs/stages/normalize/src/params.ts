import { notBoth, withDefault } from "@tomoprior/core"
import { Schema } from "effect"

const Percent = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(100))

/** normalize's params, with every default and rule. */
export const NormalizeParams = Schema.Struct({
  window: Schema.optionalKey(Schema.Tuple([Schema.Finite, Schema.Finite]).annotate({ description: "Clip to [lo, hi] (HU for CT)" })),
  percentiles: Schema.optionalKey(
    Schema.Tuple([Percent, Percent]).annotate({
      description: "Clip to these percentiles of each volume instead, e.g. [0.5, 99.5]; neither: the volume's own min and max"
    })
  ),
  scale: withDefault(
    Schema.Literals(["unit", "zscore", "none"]).annotate({
      description: "unit: clipped range → [0, 1]; zscore: (v − mean) / std of the clipped volume; none: clip only"
    }),
    "unit"
  ),
  size: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(2)).annotate({
      description: "In-plane target size (square): bilinear for images, nearest for labels; default unchanged"
    })
  ),
  spacingZ: Schema.optionalKey(
    Schema.Finite.check(Schema.isGreaterThan(0)).annotate({
      description: "Resample along z to this spacing in mm (linear for images, nearest for labels); default unchanged"
    })
  ),
  keepLabels: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.String).annotate({
      description:
        "Keep only these label ids, renumbered 1, 2, … in ascending id order and named as given (e.g. " +
        '`{ "5": liver, "1": spleen }` of a TotalSegmentator map); every other label becomes background 0; default all kept'
    })
  )
}).check(
  notBoth("window", "percentiles", "they are two ways to clip; choose one"),
  Schema.makeFilter(
    (p) =>
      Object.keys(p.keepLabels ?? {})
        .filter((id) => !/^[1-9][0-9]*$/.test(id))
        .map((id) => ({
          path: ["keepLabels", id],
          issue: `\`${id}\` is not a foreground label id (a whole number ≥ 1; 0 is the background)`
        })),
    { description: "`keepLabels` names foreground label ids (whole numbers ≥ 1)" }
  )
)
export type NormalizeParams = typeof NormalizeParams.Type
