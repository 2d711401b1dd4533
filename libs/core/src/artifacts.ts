import { Schema } from "effect"

/** The typed things stages pass to each other. Each is a directory in the store with a `manifest.json`. */
export const ArtifactKinds = ["VolumeSet", "TupleSet", "Encoder", "Segmenter", "Metrics", "Localization", "Report"] as const
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
export interface ArtifactRef {
  readonly kind: ArtifactKind
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
