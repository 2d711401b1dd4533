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
        "`phantom:torso`, or a glob or path (relative to the pipeline file) of .nii/.nii.gz, .tif/.tiff (BigTIFF too), " +
        "HDF5 (.h5/.hdf5/.nxs), Zarr / OME-Zarr stores, DICOM series directories or directories of TIFF slices"
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
    Schema.Tuple([Positive, Positive, Positive]).annotate({
      description: "[z, y, x] spacing in mm for TIFF, HDF5 and plain Zarr input (they carry none); overrides an OME-Zarr's scale"
    })
  ),
  series: Schema.optionalKey(
    Schema.String.annotate({ description: "DICOM: the SeriesInstanceUID to read when a directory holds several series" })
  ),
  dataset: Schema.optionalKey(
    Schema.String.annotate({ description: "HDF5: the dataset of the images (default `/exchange/data`, DXchange)" })
  ),
  labelDataset: Schema.optionalKey(Schema.String.annotate({ description: "HDF5 label maps: their dataset (default: `dataset`)" })),
  level: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "OME-Zarr: multiscale level (default 0, full resolution)" })
  ),
  volumes: withDefault(PositiveInt.annotate({ description: "Phantom only: how many volumes" }), 12),
  size: withDefault(PositiveInt.check(Schema.isGreaterThanOrEqualTo(8)).annotate({ description: "Phantom only: in-plane size" }), 96),
  slices: withDefault(PositiveInt.check(Schema.isGreaterThanOrEqualTo(2)).annotate({ description: "Phantom only: slices per volume" }), 64),
  seed: withDefault(Schema.Int.annotate({ description: "Phantom only: the seed each volume's own seed is derived from" }), 0),
  difficulty: withDefault(
    Schema.Literals(["standard", "hard"]).annotate({
      description:
        "Phantom only: `hard` varies organs twice as much between volumes, halves soft-tissue contrast, " +
        "raises noise 1.8× and gives each volume its own intensity calibration"
    }),
    "standard"
  )
}).check(
  Schema.makeFilter(
    (p) => {
      if (p.source !== PHANTOM_SOURCE) return undefined
      const misplaced = (["labels", "spacing", "series", "dataset", "labelDataset", "level"] as const).filter(
        (k) => p[k] !== undefined && p[k] !== ""
      )
      return misplaced.map((k) => ({
        path: [k],
        issue: `\`${k}\` applies to files; the phantom has its own (remove it or give a file \`source\`)`
      }))
    },
    { description: "`labels`, `spacing`, `series`, `dataset`, `labelDataset` and `level` apply to file sources, not to `phantom:torso`" }
  )
)
export type IngestParams = typeof IngestParams.Type
