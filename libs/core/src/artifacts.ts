import { Schema } from "effect"
import { budgetColumns } from "./budget.ts"

/** The typed things stages pass to each other. Each is a directory in the store with a `manifest.json`. */
export const ArtifactKinds = ["VolumeSet", "TupleSet", "Encoder", "Segmenter", "Metrics", "Localization", "Embeddings", "Report"] as const
export type ArtifactKind = (typeof ArtifactKinds)[number]
export const ArtifactKindSchema = Schema.Literals(ArtifactKinds)

/** Bumped when the manifest layout changes; part of every manifest. */
export const MANIFEST_SCHEMA_VERSION = 1

export const ManifestFile = Schema.Struct({
  path: Schema.String,
  size: Schema.Number,
  hash: Schema.String
})
export type ManifestFile = typeof ManifestFile.Type

export const Provenance = Schema.Struct({
  pipeline: Schema.String,
  stage: Schema.String,
  uses: Schema.String,
  key: Schema.String,
  startedAt: Schema.String,
  endedAt: Schema.String,
  tool: Schema.String,
  /** Free-form facts a stage adds: compute backend, thread count, library versions, seeds. */
  extra: Schema.Record(Schema.String, Schema.Unknown)
})
export type Provenance = typeof Provenance.Type

/**
 * The runner's record of an artifact, beside its files: the file list it hashes and the provenance
 * (when, where, by which run), which is no part of the content. A stage copying an input artifact
 * leaves it out, or its own output would differ from run to run.
 */
export const MANIFEST_FILE = "manifest.json"

export const Manifest = Schema.Struct({
  kind: ArtifactKindSchema,
  schemaVersion: Schema.Number,
  /** Content hash of the artifact: a hash over the sorted (path, size, hash) list of its files. */
  hash: Schema.String,
  files: Schema.Array(ManifestFile),
  provenance: Provenance
})
export type Manifest = typeof Manifest.Type

/** One resolved input artifact as a stage sees it: a read-only directory. */
export interface ArtifactRef<K extends ArtifactKind = ArtifactKind> {
  readonly kind: K
  readonly dir: string
  readonly hash: string
  readonly manifest: Manifest
  /** The pipeline stage id that produced it (e.g. `norm`). */
  readonly producer: string
}

// ---------------------------------------------------------------------------
// Kind-specific index files. Each artifact directory holds one `index.json` whose
// schema depends on the kind, so any stage can read any producer's output.
// ---------------------------------------------------------------------------

export const INDEX_FILE = "index.json"

export const VolumeEntry = Schema.Struct({
  /** Stable id within the set, used by TupleSet and Metrics to refer to the volume. */
  id: Schema.String,
  /** Directory of the stored volume (volume.json + voxels), relative to the artifact directory. */
  path: Schema.String,
  /** [z, y, x] voxel counts. */
  dims: Schema.Tuple([Schema.Number, Schema.Number, Schema.Number]),
  /** [z, y, x] voxel spacing in mm. */
  spacing: Schema.Tuple([Schema.Number, Schema.Number, Schema.Number]),
  hasLabels: Schema.Boolean,
  /** Where the data came from: a file path or `phantom:torso#seed`. */
  source: Schema.String
})
export type VolumeEntry = typeof VolumeEntry.Type

export const VolumeSetIndex = Schema.Struct({
  kind: Schema.Literal("VolumeSet"),
  volumes: Schema.Array(VolumeEntry),
  /** Label id → name, shared by all volumes of the set (e.g. {"0":"background","1":"lung"}). */
  labelNames: Schema.Record(Schema.String, Schema.String)
})
export type VolumeSetIndex = typeof VolumeSetIndex.Type

export const TupleGroup = Schema.Struct({
  /** Volume id per slice (one for `unique`/`even`, several for `aligned`). */
  volumes: Schema.Array(Schema.String),
  /** Slice index along `axis` for each member of the group, in the order the volumes list them. */
  slices: Schema.Array(Schema.Number)
})
export type TupleGroup = typeof TupleGroup.Type

export const TupleSetIndex = Schema.Struct({
  kind: Schema.Literal("TupleSet"),
  /**
   * The VolumeSet the indices point into travels with the TupleSet: it is hard-linked (copied where
   * links are impossible) under `volumes/` of the TupleSet artifact, with its own `index.json`.
   */
  axis: Schema.Literals(["z", "y", "x"]),
  mode: Schema.Literals(["unique", "even", "aligned"]),
  groupSize: Schema.Number,
  seed: Schema.Number,
  /** Groups per epoch; epochs are listed in order. */
  epochs: Schema.Array(Schema.Array(TupleGroup)),
  trainVolumes: Schema.Array(Schema.String),
  validationVolumes: Schema.Array(Schema.String)
})
export type TupleSetIndex = typeof TupleSetIndex.Type

export const EpochRecord = Schema.Struct({
  epoch: Schema.Number,
  step: Schema.Number,
  loss: Schema.Number,
  /** Validation and throughput figures, e.g. spearman, pairsCorrect, slicesPerSecond. */
  metrics: Schema.Record(Schema.String, Schema.Number)
})
export type EpochRecord = typeof EpochRecord.Type

export const EncoderIndex = Schema.Struct({
  kind: Schema.Literal("Encoder"),
  /** "sorting", "simclr", … — what pre-trained it. */
  method: Schema.String,
  /** Model-zoo name, e.g. "ref-resnet". */
  architecture: Schema.String,
  width: Schema.Number,
  /** Square slice size the encoder was trained on. */
  inputSize: Schema.Number,
  /** tfjs checkpoint (`model.json` + weights), relative to the artifact directory. */
  model: Schema.String,
  steps: Schema.Number,
  history: Schema.Array(EpochRecord),
  final: Schema.Record(Schema.String, Schema.Number),
  /** Method-specific settings worth showing (loss, margin, temperature…). */
  settings: Schema.Record(Schema.String, Schema.Unknown)
})
export type EncoderIndex = typeof EncoderIndex.Type

export const SliceSelection = Schema.Struct({
  volume: Schema.String,
  slices: Schema.Array(Schema.Number)
})
export type SliceSelection = typeof SliceSelection.Type

export const SegmenterIndex = Schema.Struct({
  kind: Schema.Literal("Segmenter"),
  /** Pre-training method of the encoder it started from, or "none" for random initialization. */
  pretraining: Schema.String,
  architecture: Schema.String,
  inputSize: Schema.Number,
  numClasses: Schema.Number,
  labelNames: Schema.Record(Schema.String, Schema.String),
  model: Schema.String,
  /** The label budget it was trained with (core's LabelBudget as two columns). */
  ...budgetColumns,
  seed: Schema.Number,
  /** Exactly which slices were seen with labels: evaluation on "interpolation" excludes these. */
  trainingSlices: Schema.Array(SliceSelection),
  trainVolumes: Schema.Array(Schema.String),
  heldOutVolumes: Schema.Array(Schema.String),
  history: Schema.Array(EpochRecord)
})
export type SegmenterIndex = typeof SegmenterIndex.Type

/** Which fine-tuning setting and evaluation split a metric belongs to (the cell of a results table). */
const metricCell = {
  pretraining: Schema.String,
  ...budgetColumns,
  split: Schema.Literals(["interpolation", "extrapolation"])
}

export const MetricRow = Schema.Struct({
  ...metricCell,
  seed: Schema.Number,
  classId: Schema.Number,
  className: Schema.String,
  iou: Schema.Number,
  dice: Schema.Number
})
export type MetricRow = typeof MetricRow.Type

/** Mean ± sample std over seeds of one (pretraining, fraction|everyK, split, class) cell. */
export const MetricSummaryRow = Schema.Struct({
  ...metricCell,
  /** null = the mean over foreground classes (the number the paper's tables show). */
  classId: Schema.NullOr(Schema.Number),
  className: Schema.String,
  seeds: Schema.Number,
  iouMean: Schema.Number,
  iouStd: Schema.Number,
  diceMean: Schema.Number,
  diceStd: Schema.Number
})
export type MetricSummaryRow = typeof MetricSummaryRow.Type

/** A rendered example slice (image | truth | prediction side by side) for reports. */
export const SegmentationExample = Schema.Struct({
  ...metricCell,
  seed: Schema.Number,
  volume: Schema.String,
  slice: Schema.Number,
  /** PNG file, relative to the artifact directory. */
  png: Schema.String
})
export type SegmentationExample = typeof SegmentationExample.Type

/** One segmenter's scores on one volume of a split (`rows` pools every volume of the split). */
export const MetricVolumeRow = Schema.Struct({
  ...metricCell,
  seed: Schema.Number,
  volume: Schema.String,
  classId: Schema.Number,
  className: Schema.String,
  iou: Schema.Number,
  dice: Schema.Number
})
export type MetricVolumeRow = typeof MetricVolumeRow.Type

/**
 * Pre-training `a` minus `b` at one label budget and split: the mean over seeds × volumes of the
 * per-volume foreground-mean IoU difference (paired: same seed, i.e. the same labeled slices, and
 * same volume), with its bootstrap interval resampling seeds and volumes.
 */
export const MetricDifference = Schema.Struct({
  a: Schema.String,
  b: Schema.String,
  ...budgetColumns,
  split: metricCell.split,
  /** The seeds and volumes both were scored on. */
  seeds: Schema.Number,
  volumes: Schema.Number,
  mean: Schema.Number,
  low: Schema.Number,
  high: Schema.Number,
  /** Coverage of [low, high], e.g. 0.95. */
  level: Schema.Number,
  /** The interval lies wholly on one side of zero: the difference is resolved. */
  excludesZero: Schema.Boolean
})
export type MetricDifference = typeof MetricDifference.Type

export const MetricsIndex = Schema.Struct({
  kind: Schema.Literal("Metrics"),
  /** One row per (segmenter, split, class); means and stds are derived from these. */
  rows: Schema.Array(MetricRow),
  /** Derived from `rows` by the producer so every reader shows the same aggregation. */
  summary: Schema.optional(Schema.Array(MetricSummaryRow)),
  /** One row per (segmenter, split, volume, class): what the differences pair. */
  volumeRows: Schema.optional(Schema.Array(MetricVolumeRow)),
  /** Each pre-training against random init and against each other, per budget and split. */
  differences: Schema.optional(Schema.Array(MetricDifference)),
  examples: Schema.optional(Schema.Array(SegmentationExample)),
  /** Tidy CSV of `rows`, relative to the artifact directory. */
  csv: Schema.String
})
export type MetricsIndex = typeof MetricsIndex.Type

export const Interval = Schema.Tuple([Schema.Number, Schema.Number])

/**
 * Organ localizers a Localization compares: `aligned` and `proportional-median` use every other
 * volume as a reference at once (`multiReference`); `score-range` and `proportional` (the
 * authors' pair protocol) one reference at a time (`organs`), averaged over pairs.
 */
export const LOCALIZERS = ["aligned", "proportional-median", "score-range", "proportional"] as const

/**
 * Where a scan sits inside a reference scan along the slice axis (`tomoprior locate`, or localize with
 * a `reference` VolumeSet): reference slice = scale · scan slice + offset.
 */
export const LocatedScan = Schema.Struct({
  scan: Schema.String,
  reference: Schema.String,
  scanSlices: Schema.Number,
  referenceSlices: Schema.Number,
  /** Reference slice (fractional) where the scan's first slice lies. */
  offset: Schema.Number,
  /** Reference slices per scan slice. */
  scale: Schema.Number,
  /** Reference slice where the scan's last slice lies. */
  lastSlice: Schema.Number,
  /** `spacing`: the ratio of both headers' slice spacings; `searched`: found with the offset (¼× to 4×). */
  scaleFrom: Schema.Literals(["spacing", "searched"]),
  /** Mean distance between slice descriptors along the placement. */
  cost: Schema.Number,
  /** Scan slices that fall inside the reference. */
  overlap: Schema.Number,
  /** 1 − cost / the best cost of a placement ≥ 3 scan slices away: near 0 when another fits as well. */
  confidence: Schema.Number,
  runnerUp: Schema.NullOr(Schema.Struct({ offset: Schema.Number, scale: Schema.Number, cost: Schema.Number }))
})
export type LocatedScan = typeof LocatedScan.Type

export const LocalizationIndex = Schema.Struct({
  kind: Schema.Literal("Localization"),
  method: Schema.String,
  volumes: Schema.Array(Schema.Struct({ id: Schema.String, spearman: Schema.Number, scores: Schema.Array(Schema.Number) })),
  organs: Schema.Array(
    Schema.Struct({
      labelId: Schema.Number,
      name: Schema.String,
      reference: Schema.String,
      query: Schema.String,
      truth: Interval,
      predicted: Schema.NullOr(Interval),
      iou: Schema.Number,
      proportional: Interval,
      proportionalIou: Schema.Number
    })
  ),
  partialScans: Schema.Array(
    Schema.Struct({
      volume: Schema.String,
      reference: Schema.String,
      trueOffset: Schema.Number,
      predictedOffset: Schema.Number,
      errorSlices: Schema.Number
    })
  ),
  /** What the `aligned` localizer compared between slices: encoder embeddings, or scores alone. */
  alignedOn: Schema.optional(Schema.Literals(["embeddings", "scores"])),
  /**
   * Each organ of each query located from every other volume that has it at once (leave one out):
   * `predicted` by aligning score sequences, `proportional` the median of the references' relative positions.
   */
  multiReference: Schema.optional(
    Schema.Array(
      Schema.Struct({
        labelId: Schema.Number,
        name: Schema.String,
        query: Schema.String,
        references: Schema.Number,
        truth: Interval,
        predicted: Schema.NullOr(Interval),
        iou: Schema.Number,
        proportional: Schema.NullOr(Interval),
        proportionalIou: Schema.Number
      })
    )
  ),
  /**
   * Mean interval IoU per organ and localizer. `labelId` null is the headline: the mean over organs
   * that are not whole-body (a whole-body label spans ≥ 95 % of every volume, so any placement fits it).
   */
  summary: Schema.optional(
    Schema.Array(
      Schema.Struct({
        labelId: Schema.NullOr(Schema.Number),
        name: Schema.String,
        wholeBody: Schema.Boolean,
        localizer: Schema.Literals(LOCALIZERS),
        cases: Schema.Number,
        meanIoU: Schema.Number
      })
    )
  ),
  /** With a `reference` VolumeSet wired: every volume located inside every reference volume. */
  located: Schema.optional(Schema.Array(LocatedScan))
})
export type LocalizationIndex = typeof LocalizationIndex.Type

export const EmbeddedVolume = Schema.Struct({
  id: Schema.String,
  slices: Schema.Number,
  /** float32 .npy [slices, dims], relative to the artifact directory. */
  embeddings: Schema.String,
  /** float32 .npy [slices]: the score head's output, when the encoder has one. */
  scores: Schema.optional(Schema.String),
  /** Each slice's embedding on the first two principal components of all volumes' slices. */
  projection: Schema.Array(Schema.Tuple([Schema.Number, Schema.Number]))
})
export type EmbeddedVolume = typeof EmbeddedVolume.Type

export const EmbeddingsIndex = Schema.Struct({
  kind: Schema.Literal("Embeddings"),
  /** What pre-trained the encoder: "sorting", "simclr", … */
  method: Schema.String,
  /** Numbers per slice: the encoder's pooled last-stage features (a bare encoder's outputs). */
  dims: Schema.Number,
  volumes: Schema.Array(EmbeddedVolume),
  /** Every slice in one table: volume, slice, position, score, pc1, pc2, e0, e1, … */
  csv: Schema.String,
  /** Share of the embeddings' variance each projected component explains. */
  explainedVariance: Schema.Tuple([Schema.Number, Schema.Number])
})
export type EmbeddingsIndex = typeof EmbeddingsIndex.Type

export const ReportIndex = Schema.Struct({
  kind: Schema.Literal("Report"),
  /** The self-contained HTML page, relative to the artifact directory. */
  html: Schema.String
})
export type ReportIndex = typeof ReportIndex.Type

/** The `index.json` schema of each artifact kind. */
export const ArtifactIndexes = {
  VolumeSet: VolumeSetIndex,
  TupleSet: TupleSetIndex,
  Encoder: EncoderIndex,
  Segmenter: SegmenterIndex,
  Metrics: MetricsIndex,
  Localization: LocalizationIndex,
  Embeddings: EmbeddingsIndex,
  Report: ReportIndex
} as const satisfies Record<ArtifactKind, Schema.Codec<{ readonly kind: ArtifactKind }, unknown, never, never>>
export type IndexOf<K extends ArtifactKind> = (typeof ArtifactIndexes)[K]["Type"]
