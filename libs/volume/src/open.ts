import { Effect, Scope } from "effect"
import { closeSync, existsSync, openSync, readdirSync, readSync } from "node:fs"
import { join } from "node:path"
import { InputError } from "@tomoprior/core"
import { dicomFiles, readDicomSeries, type DicomOptions } from "./dicom.ts"
import { HDF5_SIGNATURE, readHdf5, type Hdf5Options } from "./hdf5.ts"
import { VOLUME_HEADER_FILE } from "./header.ts"
import { readNifti } from "./nifti.ts"
import type { VolumeSource } from "./source.ts"
import { openVolume } from "./store.ts"
import { isDirectory, readTiffDirectory, readTiffStack, type TiffOptions } from "./tiff.ts"
import { isZarrDirectory, readZarr, type ZarrOptions } from "./zarr.ts"

const NIFTI_NAME = /\.nii(\.gz)?$/i
const TIFF_NAME = /\.tiff?$/i
const HDF5_NAME = /\.(h5|hdf5|hdf|he5|nxs|cxi)$/i

/** Everything a reader may need besides the path; each format uses its own part. */
export interface SourceOptions extends TiffOptions, DicomOptions, Hdf5Options, ZarrOptions {}

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

const startsWith = (file: string, signature: Buffer): boolean => {
  const fd = openSync(file, "r")
  try {
    const b = Buffer.alloc(signature.length)
    return readSync(fd, b, 0, b.length, 0) === b.length && b.equals(signature)
  } finally {
    closeSync(fd)
  }
}

export type SourceKind = "nifti" | "tiff" | "hdf5" | "stored" | "zarr" | "tiff-directory" | "dicom"

/** Which reader a path needs, from its name, its first bytes or (for directories) what it holds. */
export const sourceKind = (path: string): SourceKind | undefined => {
  if (NIFTI_NAME.test(path)) return "nifti"
  if (TIFF_NAME.test(path)) return "tiff"
  if (isDirectory(path)) {
    if (existsSync(join(path, VOLUME_HEADER_FILE))) return "stored"
    if (isZarrDirectory(path)) return "zarr"
    return readdirSync(path).some((n) => TIFF_NAME.test(n)) ? "tiff-directory" : "dicom"
  }
  if (!existsSync(path)) return undefined
  if (HDF5_NAME.test(path) || startsWith(path, HDF5_SIGNATURE)) return "hdf5"
  return undefined
}

/**
 * Opens any supported input: .nii/.nii.gz, .tif/.tiff, an HDF5 file (.h5, .hdf5, .nxs, … or by
 * its signature), a directory that is a stored volume, a Zarr store, TIFF slices or a DICOM series.
 */
export const openSource = (path: string, options: SourceOptions = {}): Effect.Effect<VolumeSource, InputError, Scope.Scope> => {
  switch (sourceKind(path)) {
    case "nifti":
      return readNifti(path)
    case "tiff":
      return readTiffStack(path, options)
    case "hdf5":
      return readHdf5(path, options)
    case "stored":
      return storedSource(path)
    case "zarr":
      return readZarr(path, options)
    case "tiff-directory":
      return readTiffDirectory(path, options)
    case "dicom":
      return readDicomSeries(path, options)
    case undefined:
      return Effect.fail(
        new InputError({
          file: path,
          problem: existsSync(path)
            ? "unknown format: expected .nii, .nii.gz, .tif, .tiff, an HDF5 file (.h5, .hdf5, .nxs), a Zarr store or a directory of DICOM or TIFF slices"
            : "no such file or directory"
        })
      )
  }
}

const allFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort()

/** The files a source reads (what a cache key must hash): the file itself, or those in its directory. */
export const sourceFiles = (path: string): ReadonlyArray<string> => {
  switch (sourceKind(path)) {
    case "dicom":
      return dicomFiles(path)
    case "zarr":
    case "stored":
      return allFiles(path)
    case "tiff-directory":
      return readdirSync(path)
        .filter((n) => TIFF_NAME.test(n))
        .map((n) => join(path, n))
    default:
      return [path]
  }
}
