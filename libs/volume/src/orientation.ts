/**
 * Canonical orientation (see README): stored index axes x, y, z point toward patient Right, Anterior
 * and Superior (RAS+, as nibabel's `as_closest_canonical`). For each file axis the closest world
 * axis is chosen from the affine; the file is then read with permuted/flipped strides, never
 * resampled, so voxel values are untouched.
 */
export type Affine = ReadonlyArray<ReadonlyArray<number>>
export type Vec3 = readonly [number, number, number]
export type AxisCodes = readonly [string, string, string]

const POSITIVE = ["R", "A", "S"] as const
const NEGATIVE = ["L", "P", "I"] as const

export const identityAffine = (spacingXYZ: Vec3): Array<Array<number>> => [
  [spacingXYZ[0], 0, 0, 0],
  [0, spacingXYZ[1], 0, 0],
  [0, 0, spacingXYZ[2], 0],
  [0, 0, 0, 1]
]

/** For each file axis (i, j, k): the world axis it runs along (0 = x/RL, 1 = y/AP, 2 = z/SI) and its sign. */
export interface AxisMapping {
  readonly world: Vec3
  readonly sign: Vec3
}

/** Greedy assignment by largest |affine entry|, so oblique scans map to their closest axes without clashes. */
export const axisMapping = (affine: Affine): AxisMapping => {
  const world: Array<number> = [-1, -1, -1]
  const sign: Array<number> = [1, 1, 1]
  const usedWorld = new Set<number>()
  for (let round = 0; round < 3; round++) {
    let best = -1
    let bw = -1
    let ba = -1
    for (let a = 0; a < 3; a++) {
      if (world[a] >= 0) continue
      for (let w = 0; w < 3; w++) {
        if (usedWorld.has(w)) continue
        const v = Math.abs(affine[w][a])
        if (v > best) {
          best = v
          bw = w
          ba = a
        }
      }
    }
    world[ba] = bw
    sign[ba] = affine[bw][ba] < 0 ? -1 : 1
    usedWorld.add(bw)
  }
  return { world: world as unknown as Vec3, sign: sign as unknown as Vec3 }
}

export const axisCodesOf = (affine: Affine): AxisCodes => {
  const m = axisMapping(affine)
  return [0, 1, 2].map((a) => (m.sign[a] > 0 ? POSITIVE : NEGATIVE)[m.world[a]]) as unknown as AxisCodes
}

/** Voxel size along each file axis: the length of the affine's column. */
export const columnNorms = (affine: Affine): Vec3 =>
  [0, 1, 2].map((a) => Math.hypot(affine[0][a], affine[1][a], affine[2][a])) as unknown as Vec3

/**
 * How to read a file with dims (i, j, k) and element strides (1, di, di*dj) in canonical order:
 * element offset of canonical voxel (x, y, z) = base + x*stride[0] + y*stride[1] + z*stride[2].
 */
export interface CanonicalPlan {
  /** Canonical [x, y, z] sizes. */
  readonly dims: Vec3
  readonly stride: Vec3
  readonly base: number
  /** For canonical x, y, z: the file axis it came from (slices are contiguous in the file when z's is 2). */
  readonly fileAxis: Vec3
  readonly affine: Array<Array<number>>
}

export const canonicalPlan = (fileDims: Vec3, affine: Affine): CanonicalPlan => {
  const m = axisMapping(affine)
  const fileStride = [1, fileDims[0], fileDims[0] * fileDims[1]]
  const dims = [0, 0, 0]
  const stride = [0, 0, 0]
  let base = 0
  const fileAxis = [0, 1, 2]
  // t maps canonical index -> file index; the new affine is affine · t.
  const t = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 1]
  ]
  for (let a = 0; a < 3; a++) {
    const c = m.world[a]
    dims[c] = fileDims[a]
    fileAxis[c] = a
    if (m.sign[a] > 0) {
      stride[c] = fileStride[a]
      t[a][c] = 1
    } else {
      stride[c] = -fileStride[a]
      base += (fileDims[a] - 1) * fileStride[a]
      t[a][c] = -1
      t[a][3] = fileDims[a] - 1
    }
  }
  const out = [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => [0, 1, 2, 3].reduce((s, k) => s + affine[r][k] * t[k][c], 0)))
  return {
    dims: dims as unknown as Vec3,
    stride: stride as unknown as Vec3,
    base,
    fileAxis: fileAxis as unknown as Vec3,
    affine: out
  }
}

/**
 * Copies one canonical plane (X columns × Y rows, row-major) out of file-ordered voxels `src`:
 * canonical (x, y) is `src[base + x·stride[0] + y·stride[1]]`, optionally scaled (raw · slope + inter).
 */
export const gatherPlane = <T extends { [i: number]: number }>(
  src: ArrayLike<number>,
  base: number,
  stride: Vec3,
  X: number,
  Y: number,
  out: T,
  scale?: { readonly slope: number; readonly inter: number }
): T => {
  const [sx, sy] = stride
  let o = 0
  if (scale) {
    for (let y = 0; y < Y; y++) {
      let p = base + y * sy
      for (let x = 0; x < X; x++, p += sx) out[o++] = src[p] * scale.slope + scale.inter
    }
  } else {
    for (let y = 0; y < Y; y++) {
      let p = base + y * sy
      for (let x = 0; x < X; x++, p += sx) out[o++] = src[p]
    }
  }
  return out
}
