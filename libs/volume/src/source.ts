import type { Effect } from "effect"
import type { InputError } from "@tomoprior/core"
import type { Dtype, VoxelArray } from "./dtype.ts"
import type { Affine, AxisCodes } from "./orientation.ts"

export type Dims = readonly [number, number, number]

/** What the file itself says, before canonicalisation; volume-info shows these. */
export interface NativeInfo {
  /** Sizes in file order (NIfTI i, j, k; TIFF width, height, pages; DICOM columns, rows, slices; HDF5/Zarr shape). */
  readonly dims: ReadonlyArray<number>
  readonly spacing: ReadonlyArray<number>
  readonly axisCodes: AxisCodes
  /** The file's voxel type name, e.g. "int32", "uint16 (LZW)". */
  readonly voxelType: string
}

/**
 * A volume being read from somewhere (a file, a stack, the phantom), one canonical slice at a time.
 * Obtained inside a Scope, which closes its file handles.
 */
export interface VolumeSource {
  readonly file: string
  readonly format: "nifti" | "tiff" | "tiff-directory" | "dicom" | "hdf5" | "zarr" | "stored" | "phantom"
  /** Canonical [z, y, x] sizes. */
  readonly dims: Dims
  /** [z, y, x] voxel spacing in mm. */
  readonly spacing: readonly [number, number, number]
  /** Type of the values `readSlice` yields (after intensity scaling). */
  readonly dtype: Dtype
  /** Canonical voxel index (x, y, z) → RAS mm. */
  readonly affine: Affine
  /** Direction of canonical x, y, z ("?" when the format has no orientation, as TIFF). */
  readonly axisCodes: AxisCodes
  readonly native: NativeInfo
  /** Fills `out` (length y*x, of type `dtype`) with slice z and returns it. */
  readonly readSlice: (z: number, out: VoxelArray) => Effect.Effect<VoxelArray, InputError>
}

export const sliceLength = (dims: Dims): number => dims[1] * dims[2]
