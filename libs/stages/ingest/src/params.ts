import { withDefault } from "@tomoprior/core"
import { Schema } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))

export const PHANTOM_SOURCE = "phantom:torso"

/** ingest's params, with every default and rule. */
export const IngestParams = Schema.Struct({
  source: withDefault(
    Schema.String.annotate({
      description:
        "`phantom:torso`, a glob of .nii/.nii.gz/.tif/.tiff files (or slice directories), or one path; relative to the pipeline file"
    }),
    PHANTOM_SOURCE
  ),
  labels: Schema.optionalKey(
    Schema.String.annotate({
      description:
        "Label maps: a rule with `{name}` (the image's name without extension, next to the image) " +
        "or a glob paired with the images in sorted order; empty = none"
    })
  ),
  labelNames: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.String).annotate({
      description: "Names of label ids; default the phantom's names, or `label <id>` for files"
    })
  ),
  spacing: Schema.optionalKey(
    Schema.Tuple([Positive, Positive, Positive]).annotate({ description: "[z, y, x] spacing in mm for TIFF input (TIFF carries none)" })
  ),
  volumes: withDefault(PositiveInt.annotate({ description: "Phantom only: how many volumes" }), 12),
  size: withDefault(PositiveInt.check(Schema.isGreaterThanOrEqualTo(8)).annotate({ description: "Phantom only: in-plane size" }), 96),
  slices: withDefault(PositiveInt.check(Schema.isGreaterThanOrEqualTo(2)).annotate({ description: "Phantom only: slices per volume" }), 64),
  seed: withDefault(Schema.Int.annotate({ description: "Phantom only: the seed each volume's own seed is derived from" }), 0)
}).check(
  Schema.makeFilter(
    (p) => {
      if (p.source !== PHANTOM_SOURCE) return undefined
      const misplaced = (["labels", "spacing"] as const).filter((k) => p[k] !== undefined && p[k] !== "")
      return misplaced.map((k) => ({
        path: [k],
        issue: `\`${k}\` applies to files; the phantom has its own (remove it or give a file \`source\`)`
      }))
    },
    { description: "`labels` and `spacing` apply to file sources, not to `phantom:torso`" }
  )
)
export type IngestParams = typeof IngestParams.Type
