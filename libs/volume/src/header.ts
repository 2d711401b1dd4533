import { Schema } from "effect"
import { DtypeSchema, LabelDtypeSchema } from "./dtype.ts"

const Vec3 = Schema.Tuple([Schema.Number, Schema.Number, Schema.Number])
const PositiveInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))

export const IntensityStatsSchema = Schema.Struct({
  min: Schema.Number,
  max: Schema.Number,
  mean: Schema.Number,
  std: Schema.Number
})

/** `volume.json` of a stored volume directory. */
export const VolumeHeader = Schema.Struct({
  format: Schema.Literal("tomoprior-volume"),
  version: Schema.Literal(1),
  /** [z, y, x] voxel counts. */
  dims: Schema.Tuple([PositiveInt, PositiveInt, PositiveInt]),
  /** [z, y, x] spacing in mm. */
  spacing: Vec3,
  dtype: DtypeSchema,
  /** Voxel index (x, y, z, 1) → RAS mm. */
  affine: Schema.Array(Schema.Array(Schema.Number)),
  /** Directions of stored x, y, z after canonicalisation ("?" = unknown, e.g. TIFF). */
  axisCodes: Schema.Tuple([Schema.String, Schema.String, Schema.String]),
  source: Schema.String,
  stats: IntensityStatsSchema,
  hasLabels: Schema.Boolean,
  labelDtype: Schema.NullOr(LabelDtypeSchema),
  /** Label ids present in `labels.raw`, ascending. */
  labelIds: Schema.Array(Schema.Number)
})
export type VolumeHeader = typeof VolumeHeader.Type

export const VOLUME_HEADER_FILE = "volume.json"
export const VOXELS_FILE = "voxels.raw"
export const LABELS_FILE = "labels.raw"
