import { Effect } from "effect"
import type { InputError } from "@tomoprior/core"
import { allocate } from "./dtype.ts"
import { openSource, type SourceOptions } from "./open.ts"
import { sliceLength } from "./source.ts"
import { StatsAccumulator, type IntensityStats } from "./stats.ts"

export interface VolumeInfo extends IntensityStats {
  readonly file: string
  readonly format: string
  /** Sizes in file order (NIfTI i, j, k; TIFF width, height, pages; DICOM columns, rows, slices; HDF5/Zarr shape). */
  readonly dims: ReadonlyArray<number>
  readonly voxelType: string
  readonly spacing: ReadonlyArray<number>
  readonly axisCodes: ReadonlyArray<string>
  /** How it is stored after ingest: [z, y, x], RAS+. */
  readonly canonical: {
    readonly dims: ReadonlyArray<number>
    readonly spacing: ReadonlyArray<number>
    readonly axisCodes: ReadonlyArray<string>
    readonly dtype: string
  }
}

/** Header facts plus min/max/mean/std of the scaled voxel values (float64 accumulation), one slice at a time. */
export const volumeInfo = (path: string, options: SourceOptions = {}): Effect.Effect<VolumeInfo, InputError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const src = yield* openSource(path, options)
      const slice = allocate(src.dtype, sliceLength(src.dims))
      const stats = new StatsAccumulator()
      for (let z = 0; z < src.dims[0]; z++) stats.add(yield* src.readSlice(z, slice))
      return {
        file: path,
        format: src.format,
        dims: src.native.dims,
        voxelType: src.native.voxelType,
        spacing: src.native.spacing,
        axisCodes: src.native.axisCodes,
        canonical: { dims: src.dims, spacing: src.spacing, axisCodes: src.axisCodes, dtype: src.dtype },
        ...stats.result()
      }
    })
  )

export const formatVolumeInfo = (i: VolumeInfo): string =>
  [
    `file        ${i.file} (${i.format})`,
    `dims        ${i.dims.join(" × ")}`,
    `voxel type  ${i.voxelType}`,
    `spacing     ${i.spacing.map((s) => +s.toFixed(6)).join(" × ")} mm`,
    `axis codes  ${i.axisCodes.join("")}`,
    `stored as   [z,y,x] ${i.canonical.dims.join(" × ")} ${i.canonical.dtype}, axes ${i.canonical.axisCodes.join("")}`,
    `min / max   ${i.min} / ${i.max}`,
    `mean / std  ${i.mean} / ${i.std}`
  ].join("\n")
