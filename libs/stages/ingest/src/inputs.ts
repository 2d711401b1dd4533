import { Effect } from "effect"
import { existsSync, statSync } from "node:fs"
import { basename, dirname, resolve } from "node:path"
import { InputError } from "@tomoprior/core"
import { sourceFiles } from "@tomoprior/volume"
import { isGlob, matchGlob } from "./glob.ts"
import type { IngestParams } from "./params.ts"

const VOLUME_FILE = /\.(nii|nii\.gz|tif|tiff|h5|hdf5|hdf|he5|nxs|cxi)$/i
export const nameOf = (path: string) => basename(path).replace(/\.(nii\.gz|nii|tiff?|h5|hdf5|hdf|he5|nxs|cxi|ome\.zarr|zarr)$/i, "")
const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false

interface Pairing {
  readonly image: string
  readonly labels?: string
}

/** Which image files (and label files) a params block refers to; fails on an empty match. */
export const resolveInputs = (params: IngestParams, baseDir: string): Effect.Effect<ReadonlyArray<Pairing>, InputError> =>
  Effect.gen(function* () {
    const matched = matchGlob(params.source, baseDir).filter((p) => isDir(p) || VOLUME_FILE.test(p))
    const where = resolve(baseDir, params.source)
    if (matched.length === 0 || (!isGlob(params.source) && !existsSync(matched[0])))
      return yield* new InputError({
        file: where,
        problem: isGlob(params.source)
          ? "the glob matches no .nii/.nii.gz/.tif/.tiff/HDF5 files or directories (DICOM series, Zarr stores, TIFF slices)"
          : "no such file or directory"
      })
    // an empty string (e.g. an unset `${params.labels}`) means no labels
    const rule = params.labels || undefined
    if (rule === undefined) return matched.map((image) => ({ image }))
    if (rule.includes("{name}")) {
      const labelOf = (image: string) => resolve(dirname(image), rule.replaceAll("{name}", nameOf(image)))
      const labelFiles = new Set(matched.map(labelOf))
      const images = matched.filter((m) => !labelFiles.has(m))
      if (images.length === 0) return yield* new InputError({ file: where, problem: "every matched file is itself a label map" })
      for (const image of images)
        if (!existsSync(labelOf(image)))
          return yield* new InputError({ file: labelOf(image), problem: `label map for ${basename(image)} not found (rule ${rule})` })
      return images.map((image) => ({ image, labels: labelOf(image) }))
    }
    const labelFiles = matchGlob(rule, baseDir).filter((p) => isDir(p) || VOLUME_FILE.test(p))
    const images = matched.filter((m) => !labelFiles.includes(m))
    if (labelFiles.length !== images.length)
      return yield* new InputError({
        file: resolve(baseDir, rule),
        problem: `${labelFiles.length} label maps for ${images.length} images; they are paired in sorted order, so the counts must match`
      })
    return images.map((image, i) => ({ image, labels: labelFiles[i] }))
  })

/** The files a matched path stands for (a directory: the DICOM files, Zarr chunks or TIFF slices it holds). */
export const filesUnder = (path: string): ReadonlyArray<string> => sourceFiles(path)

/** Names made unique by a -2, -3… suffix, in order. */
export const uniqueIds = (names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const seen = new Map<string, number>()
  return names.map((n) => {
    const k = seen.get(n) ?? 0
    seen.set(n, k + 1)
    return k === 0 ? n : `${n}-${k + 1}`
  })
}
