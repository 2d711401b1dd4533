import { Effect, Scope } from "effect"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { InputError } from "@tomoprior/core"
import { VOLUME_HEADER_FILE } from "./header.ts"
import { readNifti } from "./nifti.ts"
import type { VolumeSource } from "./source.ts"
import { openVolume } from "./store.ts"
import { isDirectory, readTiffDirectory, readTiffStack, type TiffOptions } from "./tiff.ts"

const NIFTI_NAME = /\.nii(\.gz)?$/i
const TIFF_NAME = /\.tiff?$/i

/** A stored volume directory read as a source (e.g. to re-export or inspect it). */
export const storedSource = (dir: string): Effect.Effect<VolumeSource, InputError, Scope.Scope> =>
  Effect.map(openVolume(dir), (v) => ({
    file: dir,
    format: "stored" as const,
    dims: v.header.dims,
    spacing: v.header.spacing,
    dtype: v.header.dtype,
    affine: v.header.affine,
    axisCodes: v.header.axisCodes,
    native: {
      dims: [v.header.dims[2], v.header.dims[1], v.header.dims[0]],
      spacing: [v.header.spacing[2], v.header.spacing[1], v.header.spacing[0]],
      axisCodes: v.header.axisCodes,
      voxelType: v.header.dtype
    },
    readSlice: (z, out) =>
      Effect.try({
        try: () => v.readRawSlice(z, out),
        catch: (e) => (e instanceof InputError ? e : new InputError({ file: dir, problem: String(e) }))
      })
  }))

/** Opens any supported input by its name: .nii/.nii.gz, .tif/.tiff, a stored volume or a directory of TIFF slices. */
export const openSource = (path: string, tiff: TiffOptions = {}): Effect.Effect<VolumeSource, InputError, Scope.Scope> => {
  if (NIFTI_NAME.test(path)) return readNifti(path)
  if (TIFF_NAME.test(path)) return readTiffStack(path, tiff)
  if (isDirectory(path)) return existsSync(join(path, VOLUME_HEADER_FILE)) ? storedSource(path) : readTiffDirectory(path, tiff)
  if (!existsSync(path)) return Effect.fail(new InputError({ file: path, problem: "no such file or directory" }))
  return Effect.fail(new InputError({ file: path, problem: "unknown format: expected .nii, .nii.gz, .tif, .tiff or a directory" }))
}
