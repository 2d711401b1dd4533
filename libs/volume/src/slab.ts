import { Effect } from "effect"
import { InputError } from "@tomoprior/core"
import type { Dtype, RawSample, VoxelArray } from "./dtype.ts"
import { identityAffine } from "./orientation.ts"
import type { NativeInfo, VolumeSource } from "./source.ts"

/**
 * Chunked array formats (HDF5, Zarr) as volume sources. A chunk usually spans several slices, so
 * decoding it per slice would repeat the work chunk-depth times: slices are read in slabs of one
 * chunk row along z (capped at SLAB_BYTES), and the last slab is kept. Memory stays one slab
 * whatever the volume's size.
 */

/** Largest slab kept in memory; deeper chunks are read one slice at a time. */
export const SLAB_BYTES = 256 * 2 ** 20

export interface ChunkedArray {
  readonly file: string
  readonly format: "hdf5" | "zarr"
  /** [z, y, x] */
  readonly shape: readonly [number, number, number]
  /** Chunk depth along z (1 when the array is not chunked along z). */
  readonly chunkDepth: number
  readonly sample: RawSample
  /** [z, y, x] mm */
  readonly spacing: readonly [number, number, number]
  readonly voxelType: string
  /** Slices [z0, z1) as one array of (z1 − z0)·y·x values. */
  readonly read: (z0: number, z1: number) => Effect.Effect<ArrayLike<number>, InputError>
}

/** Slab depth: whole chunks along z while they fit in SLAB_BYTES, else single slices. */
export const slabDepth = (chunkDepth: number, sliceBytes: number): number =>
  chunkDepth > 1 && chunkDepth * sliceBytes <= SLAB_BYTES ? chunkDepth : 1

export const chunkedSource = (a: ChunkedArray): VolumeSource => {
  const [Z, Y, X] = a.shape
  const plane = Y * X
  const dtype: Dtype = a.sample.dtype
  const depth = slabDepth(a.chunkDepth, plane * a.sample.bytes)
  let slab: { start: number; data: ArrayLike<number> } | undefined
  const readSlice: VolumeSource["readSlice"] = (z, out) =>
    Effect.gen(function* () {
      if (!(Number.isInteger(z) && z >= 0 && z < Z))
        return yield* new InputError({ file: a.file, problem: `slice ${z} out of range 0..${Z - 1}` })
      if (!slab || z < slab.start || z >= slab.start + depth) {
        const start = Math.floor(z / depth) * depth
        slab = undefined // release the previous slab before the next is read
        const data = yield* a.read(start, Math.min(Z, start + depth))
        slab = { start, data }
      }
      const offset = (z - slab.start) * plane
      const data = slab.data
      if (ArrayBuffer.isView(data) && !(data instanceof DataView)) out.set((data as unknown as VoxelArray).subarray(offset, offset + plane))
      else for (let i = 0; i < plane; i++) out[i] = data[offset + i]
      return out
    })
  const native: NativeInfo = {
    dims: [...a.shape],
    spacing: [...a.spacing],
    axisCodes: ["?", "?", "?"],
    voxelType: a.voxelType
  }
  return {
    file: a.file,
    format: a.format,
    dims: [Z, Y, X],
    spacing: a.spacing,
    dtype,
    affine: identityAffine([a.spacing[2], a.spacing[1], a.spacing[0]]),
    axisCodes: ["?", "?", "?"],
    native,
    readSlice
  }
}
