/**
 * Per-slice image operations on row-major Float32Array images (h × w). Each returns a new image.
 * Intensity strengths are relative to the slice's own value range, so the same settings work on
 * any normalization (HU windows mapped to [0, 1], z-scores…).
 */

export interface Image {
  readonly data: Float32Array
  readonly h: number
  readonly w: number
}

export const range = (data: Float32Array): { lo: number; hi: number } => {
  let lo = Infinity,
    hi = -Infinity
  for (const v of data) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  return { lo, hi }
}

/**
 * Crops or pads each axis to `size`. `offset(excess)` picks where the window (or the image inside
 * the padding) starts, in [0, excess]; padding takes the slice minimum (background).
 */
export const cropOrPad = (img: Image, size: number, offset: (excess: number) => number): Image => {
  const out = new Float32Array(size * size).fill(range(img.data).lo)
  const oy = offset(Math.abs(img.h - size)),
    ox = offset(Math.abs(img.w - size))
  // For a crop the offset is into the source; for a pad it is into the destination.
  const [sy, dy] = img.h >= size ? [oy, 0] : [0, oy]
  const [sx, dx] = img.w >= size ? [ox, 0] : [0, ox]
  const rows = Math.min(size, img.h),
    cols = Math.min(size, img.w)
  for (let y = 0; y < rows; y++) {
    const from = (sy + y) * img.w + sx
    out.set(img.data.subarray(from, from + cols), (dy + y) * size + dx)
  }
  return { data: out, h: size, w: size }
}

export const centerCropOrPad = (img: Image, size: number): Image => cropOrPad(img, size, (e) => Math.floor(e / 2))

export const flipHorizontal = (img: Image): Image => {
  const out = new Float32Array(img.data.length)
  for (let y = 0; y < img.h; y++) for (let x = 0; x < img.w; x++) out[y * img.w + x] = img.data[y * img.w + (img.w - 1 - x)]
  return { ...img, data: out }
}

export const flipVertical = (img: Image): Image => {
  const out = new Float32Array(img.data.length)
  for (let y = 0; y < img.h; y++) out.set(img.data.subarray((img.h - 1 - y) * img.w, (img.h - y) * img.w), y * img.w)
  return { ...img, data: out }
}

export interface Affine {
  /** Rotation in degrees; the sign only picks the direction. */
  readonly degrees: number
  readonly scale: number
  /** Translation in pixels. */
  readonly shiftY: number
  readonly shiftX: number
}

/**
 * Rotation/scale/shift about the image center with bilinear sampling (inverse mapping, so every
 * output pixel is defined); outside the source takes the slice minimum.
 */
export const affine = (img: Image, t: Affine): Image => {
  const { data, h, w } = img
  const fill = range(data).lo
  const out = new Float32Array(h * w)
  const a = (t.degrees * Math.PI) / 180
  const cos = Math.cos(a) / t.scale,
    sin = Math.sin(a) / t.scale
  const cy = (h - 1) / 2,
    cx = (w - 1) / 2
  const at = (y: number, x: number) => (y >= 0 && y < h && x >= 0 && x < w ? data[y * w + x] : fill)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dy = y - cy - t.shiftY,
        dx = x - cx - t.shiftX
      const sy = cy + cos * dy - sin * dx
      const sx = cx + sin * dy + cos * dx
      const y0 = Math.floor(sy),
        x0 = Math.floor(sx)
      const fy = sy - y0,
        fx = sx - x0
      out[y * w + x] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1))
    }
  }
  return { ...img, data: out }
}

const reflect = (i: number, n: number): number => {
  if (n === 1) return 0
  while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1
  return i
}

/** Separable Gaussian blur, borders reflected. */
export const gaussianBlur = (img: Image, sigma: number): Image => {
  if (sigma <= 0) return img
  const r = Math.max(1, Math.ceil(2.5 * sigma))
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)))
  const norm = k.reduce((s, v) => s + v, 0)
  const kernel = k.map((v) => v / norm)
  const { h, w } = img
  const tmp = new Float32Array(h * w),
    out = new Float32Array(h * w)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0
      for (let i = -r; i <= r; i++) s += kernel[i + r] * img.data[y * w + reflect(x + i, w)]
      tmp[y * w + x] = s
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0
      for (let i = -r; i <= r; i++) s += kernel[i + r] * tmp[reflect(y + i, h) * w + x]
      out[y * w + x] = s
    }
  return { ...img, data: out }
}

export interface Intensity {
  /** Added offset as a fraction of the value range. */
  readonly brightness: number
  /** Multiplier of the deviation from the mean. */
  readonly contrast: number
  /** Exponent applied to the range-normalized values. */
  readonly gamma: number
}

export const adjustIntensity = (img: Image, t: Intensity): Image => {
  const { lo, hi } = range(img.data)
  const span = hi - lo
  if (!(span > 0)) return img
  let mean = 0
  for (const v of img.data) mean += v
  mean /= img.data.length
  const out = new Float32Array(img.data.length)
  for (let i = 0; i < out.length; i++) {
    const g = lo + span * Math.pow((img.data[i] - lo) / span, t.gamma)
    out[i] = mean + t.contrast * (g - mean) + t.brightness * span
  }
  return { ...img, data: out }
}

/** Histogram equalisation over `bins` bins of the slice's own range; output keeps that range. */
export const equalize = (img: Image, bins = 256): Image => {
  const { lo, hi } = range(img.data)
  const span = hi - lo
  if (!(span > 0)) return img
  const bin = (v: number) => Math.min(bins - 1, Math.floor(((v - lo) / span) * bins))
  const cdf = new Float64Array(bins)
  for (const v of img.data) cdf[bin(v)]++
  for (let i = 1; i < bins; i++) cdf[i] += cdf[i - 1]
  const n = img.data.length
  const first = cdf.find((c) => c > 0)!
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = lo + (span * (cdf[bin(img.data[i])] - first)) / Math.max(1, n - first)
  return { ...img, data: out }
}

/** Adds N(0, (std·range)²) noise; `normal` draws standard normals. */
export const addNoise = (img: Image, std: number, normal: () => number): Image => {
  const { lo, hi } = range(img.data)
  const sd = std * (hi > lo ? hi - lo : 1)
  const out = new Float32Array(img.data.length)
  for (let i = 0; i < out.length; i++) out[i] = img.data[i] + sd * normal()
  return { ...img, data: out }
}
