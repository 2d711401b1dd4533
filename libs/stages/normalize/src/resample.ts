/**
 * In-plane resampling with half-pixel-centered coordinates (output pixel i samples input position
 * (i + 0.5) · in/out − 0.5), so a resize keeps the image centered. Tables are computed once per
 * volume and reused for every slice.
 */
export interface LinearTable {
  readonly i0: Int32Array
  readonly i1: Int32Array
  readonly w: Float32Array
}

export const linearTable = (inSize: number, outSize: number): LinearTable => {
  const i0 = new Int32Array(outSize)
  const i1 = new Int32Array(outSize)
  const w = new Float32Array(outSize)
  const scale = inSize / outSize
  for (let o = 0; o < outSize; o++) {
    const p = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1)
    const f = Math.floor(p)
    i0[o] = f
    i1[o] = Math.min(f + 1, inSize - 1)
    w[o] = p - f
  }
  return { i0, i1, w }
}

export const nearestTable = (inSize: number, outSize: number): Int32Array => {
  const t = new Int32Array(outSize)
  const scale = inSize / outSize
  for (let o = 0; o < outSize; o++) t[o] = Math.min(inSize - 1, Math.floor((o + 0.5) * scale))
  return t
}

/** Intensity mapping applied to every tap before interpolating: clip to [lo, hi], then (v − offset) · factor. */
export interface Intensity {
  readonly lo: number
  readonly hi: number
  readonly offset: number
  readonly factor: number
}

export const IDENTITY: Intensity = { lo: -Infinity, hi: Infinity, offset: 0, factor: 1 }

/**
 * Bilinear resize with the intensity mapping folded into the taps, so a downsizing pass touches
 * only the input pixels it samples (clipping before interpolation, as a clip-then-resize would).
 */
export const bilinear = (
  src: Float32Array,
  inX: number,
  ty: LinearTable,
  tx: LinearTable,
  out: Float32Array,
  m: Intensity = IDENTITY
): Float32Array => {
  const outX = tx.i0.length
  const { lo, hi, offset, factor } = m
  const tap = (v: number) => ((v < lo ? lo : v > hi ? hi : v) - offset) * factor
  for (let y = 0; y < ty.i0.length; y++) {
    const r0 = ty.i0[y] * inX
    const r1 = ty.i1[y] * inX
    const wy = ty.w[y]
    for (let x = 0; x < outX; x++) {
      const a = tx.i0[x]
      const b = tx.i1[x]
      const wx = tx.w[x]
      const p00 = tap(src[r0 + a])
      const p01 = tap(src[r0 + b])
      const p10 = tap(src[r1 + a])
      const p11 = tap(src[r1 + b])
      const top = p00 + (p01 - p00) * wx
      const bottom = p10 + (p11 - p10) * wx
      out[y * outX + x] = top + (bottom - top) * wy
    }
  }
  return out
}

export const nearest = <T extends Uint8Array | Uint16Array>(src: T, inX: number, ty: Int32Array, tx: Int32Array, out: T): T => {
  const outX = tx.length
  for (let y = 0; y < ty.length; y++) {
    const row = ty[y] * inX
    for (let x = 0; x < outX; x++) out[y * outX + x] = src[row + tx[x]]
  }
  return out
}

/** Affine of a grid resampled from `inDims` to `outDims` ([z, y, x]) with half-pixel-centered sampling. */
export const resampledAffine = (
  affine: ReadonlyArray<ReadonlyArray<number>>,
  inDims: readonly [number, number, number],
  outDims: readonly [number, number, number]
): Array<Array<number>> => {
  // new index (x', y', z') -> old index s·x' + (s − 1)/2 per axis (x, y, z order)
  const s = [inDims[2] / outDims[2], inDims[1] / outDims[1], inDims[0] / outDims[0]]
  return affine.map((row) => [
    row[0] * s[0],
    row[1] * s[1],
    row[2] * s[2],
    row[3] + (row[0] * (s[0] - 1)) / 2 + (row[1] * (s[1] - 1)) / 2 + (row[2] * (s[2] - 1)) / 2
  ])
}
