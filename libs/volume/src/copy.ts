import { Effect } from "effect"
import { InputError } from "@tomoprior/core"
import { allocate, type LabelArray, type LabelDtype } from "./dtype.ts"
import type { VolumeHeader } from "./header.ts"
import type { VolumeSource } from "./source.ts"
import { sliceLength } from "./source.ts"
import { writeVolume } from "./store.ts"

const sameGrid = (a: VolumeSource, b: VolumeSource): string | undefined => {
  if (a.dims.some((d, i) => d !== b.dims[i])) return `label grid ${b.dims.join("×")} ≠ image grid ${a.dims.join("×")} ([z,y,x])`
  const scale = Math.max(1, ...a.affine.flat().map(Math.abs))
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 4; c++)
      if (Math.abs(a.affine[r][c] - b.affine[r][c]) > 1e-3 * scale)
        return `label affine differs from the image affine (row ${r}, column ${c}: ${b.affine[r][c]} vs ${a.affine[r][c]})`
  return undefined
}

/** Label ids must be small non-negative integers; one pass to find the narrowest type. */
const labelDtypeOf = (labels: VolumeSource): Effect.Effect<LabelDtype, InputError> =>
  Effect.gen(function* () {
    if (labels.dtype === "uint8") return "uint8"
    const slice = allocate(labels.dtype, sliceLength(labels.dims))
    let max = 0
    for (let z = 0; z < labels.dims[0]; z++) {
      yield* labels.readSlice(z, slice)
      for (let i = 0; i < slice.length; i++) {
        const v = slice[i]
        if (!(v >= 0 && Number.isInteger(v)))
          return yield* new InputError({ file: labels.file, problem: `label value ${v} in slice ${z} is not a non-negative integer` })
        if (v > max) max = v
      }
    }
    if (max > 65535) return yield* new InputError({ file: labels.file, problem: `label id ${max} exceeds 65535` })
    return max > 255 ? "uint16" : "uint8"
  })

/**
 * Copies a source (and optionally its label map, checked to share its grid) into a stored volume
 * directory, one slice at a time. `onSlice` runs after each slice (progress reporting).
 */
export const storeVolume = <R = never>(
  dir: string,
  image: VolumeSource,
  labels: VolumeSource | undefined,
  options: { readonly source: string; readonly onSlice?: (z: number) => Effect.Effect<void, never, R> }
): Effect.Effect<VolumeHeader, InputError, R> =>
  Effect.gen(function* () {
    if (labels) {
      const mismatch = sameGrid(image, labels)
      if (mismatch) return yield* new InputError({ file: labels.file, problem: mismatch })
    }
    const labelDtype = labels ? yield* labelDtypeOf(labels) : null
    const n = sliceLength(image.dims)
    const voxels = allocate(image.dtype, n)
    const labelSource = labels ? allocate(labels.dtype, n) : undefined
    const labelOut: LabelArray | undefined =
      labelDtype === "uint16" ? new Uint16Array(n) : labelDtype === "uint8" ? new Uint8Array(n) : undefined
    return yield* writeVolume(
      dir,
      {
        dims: image.dims,
        spacing: image.spacing,
        dtype: image.dtype,
        affine: image.affine,
        axisCodes: image.axisCodes,
        source: options.source,
        labelDtype
      },
      (z) =>
        Effect.gen(function* () {
          yield* image.readSlice(z, voxels)
          if (labels && labelSource && labelOut) {
            yield* labels.readSlice(z, labelSource)
            for (let i = 0; i < n; i++) {
              const v = labelSource[i]
              if (!(v >= 0 && v <= 65535 && Number.isInteger(v)))
                return yield* new InputError({ file: labels.file, problem: `label value ${v} in slice ${z} is not a valid label id` })
              labelOut[i] = v
            }
          }
          if (options.onSlice) yield* options.onSlice(z)
          return { voxels, labels: labelOut }
        })
    )
  })
