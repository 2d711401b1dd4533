import { Effect } from "effect"
import type { VoxelArray } from "./dtype.ts"
import { identityAffine } from "./orientation.ts"
import type { VolumeSource } from "./source.ts"

/**
 * A procedural torso CT in HU with a label map, deterministic from a seed. Coordinates: body
 * height t ∈ [0, 1] runs from the lower abdomen (0) to the lung apex (1); each volume covers its own
 * [t0, t1] of that range, so slice index is not simply proportional to anatomy. In-plane, organs
 * are ellipses in body coordinates (u to the patient's right, v anterior) that follow a rotated,
 * shifted, per-seed body outline. Stored axes are canonical RAS: x → right, y → anterior, z → head.
 *
 * Labels: 0 background (air, fat, muscle, ribs, aorta, kidneys, spinal canal), 1 lungs, 2 heart
 * (myocardium and blood pool), 3 liver, 4 spine (vertebral bodies and discs), 5 lesions.
 */
export const PHANTOM_LABELS: Readonly<Record<string, string>> = {
  "0": "background",
  "1": "lungs",
  "2": "heart",
  "3": "liver",
  "4": "spine",
  "5": "lesions"
}

export interface PhantomOptions {
  /** In-plane size (square). */
  readonly size: number
  readonly slices: number
  /**
   * "hard": organs vary twice as much in place and size between volumes, soft-tissue organs stand
   * half as far from the surrounding tissue, noise is 1.8× stronger, and each volume gets its own
   * intensity scale (0.85–1.15) and offset (±40 HU), as scanners differ. "standard" (default) is
   * the phantom as it always was: the same seed gives the same volume.
   */
  readonly difficulty?: "standard" | "hard"
}

/** mulberry32: small, fast, good enough for procedural geometry and noise. */
const rng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const hashSeed = (...parts: ReadonlyArray<number>): number => {
  let h = 0x811c9dc5
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193)
    h ^= h >>> 13
  }
  return h >>> 0
}

const FOV_MM = 400
const BODY_LENGTH_MM = 500

interface Organ {
  /** t-range where the organ exists; its size follows a sin bump over it. */
  readonly t: readonly [number, number]
  readonly center: readonly [number, number]
  readonly radii: readonly [number, number]
}

interface Lesion {
  readonly host: "lung" | "liver"
  /** Center in (u, v, t) and radius in FOV units. */
  readonly u: number
  readonly v: number
  readonly t: number
  readonly radius: number
  readonly hu: number
}

export interface PhantomSpec {
  readonly seed: number
  readonly size: number
  readonly slices: number
  /** Body-height range the volume covers. */
  readonly t0: number
  readonly t1: number
  readonly center: readonly [number, number]
  readonly rotation: number
  /** Body half-width and half-depth in FOV units. */
  readonly halfWidth: number
  readonly halfDepth: number
  readonly lungs: Organ
  readonly heart: Organ
  readonly liver: Organ
  readonly kidneys: Organ
  readonly lesions: ReadonlyArray<Lesion>
  readonly noiseSigma: number
  /** How far soft-tissue organs stand from the surrounding tissue (1 standard, 0.5 hard). */
  readonly contrast: number
  /** Body HU become scale · HU + offset (the scanner's calibration). */
  readonly intensityScale: number
  readonly intensityOffset: number
  readonly vertebraPeriod: number
  readonly ribPeriod: number
  readonly phase: number
}

const bump = (t: number, range: readonly [number, number], power = 0.5): number => {
  const s = (t - range[0]) / (range[1] - range[0])
  return s <= 0 || s >= 1 ? 0 : Math.pow(Math.sin(Math.PI * s), power)
}

/** Body width grows from the waist toward the chest. */
const bodyProfile = (t: number) => 0.88 + 0.14 * Math.sin(Math.PI * Math.min(1, t * 0.85 + 0.1))

export const phantomSpec = (seed: number, options: PhantomOptions): PhantomSpec => {
  const r = rng(hashSeed(seed, 0x70a5))
  const U = (lo: number, hi: number) => lo + (hi - lo) * r()
  const hard = options.difficulty === "hard"
  // Hard widens the same draws (one random number each either way), so a standard volume is unchanged.
  const spread = hard ? 2 : 1
  const jitter = (x: number, f = 0.12 * spread) => x * U(1 - f, 1 + f)
  const organ = (t: readonly [number, number], center: readonly [number, number], radii: readonly [number, number]): Organ => ({
    t: [t[0] + spread * U(-0.03, 0.03), t[1] + spread * U(-0.03, 0.03)],
    center: [center[0] + spread * U(-0.04, 0.04), center[1] + spread * U(-0.04, 0.04)],
    radii: [jitter(radii[0]), jitter(radii[1])]
  })
  // Scans cover different stretches of the body (chest-only vs chest-abdomen), as real ones do,
  // so the same relative slice position is a different anatomical level in different volumes.
  const t0 = U(0, 0.35)
  const t1 = U(0.65, 1)
  const scale = U(0.85, 1.1)
  const lungs = organ([0.42, 1.04], [0.43, 0.02], [0.34, 0.58])
  const heart = organ([0.48, 0.74], [-0.12, 0.24], [0.31, 0.3])
  const liver = organ([0.1, 0.52], [0.3, 0.04], [0.52, 0.56])
  const kidneys = organ([0.04, 0.3], [0.36, -0.42], [0.13, 0.19])
  const lesions: Array<Lesion> = []
  const count = 2 + Math.floor(r() * 4)
  for (let i = 0; i < count; i++) {
    const inLung = r() < 0.55
    const host = inLung ? lungs : liver
    const span = host.t[1] - host.t[0]
    const t = host.t[0] + span * U(0.3, 0.7)
    const p = bump(t, host.t)
    const side = inLung && r() < 0.5 ? -1 : 1
    const angle = U(0, 2 * Math.PI)
    const reach = U(0, 0.45)
    lesions.push({
      host: inLung ? "lung" : "liver",
      u: side * host.center[0] + Math.cos(angle) * reach * host.radii[0] * p,
      v: host.center[1] + Math.sin(angle) * reach * host.radii[1] * p,
      t,
      radius: U(0.011, 0.03),
      hu: inLung ? U(0, 60) : r() < 0.7 ? U(-5, 25) : U(100, 130)
    })
  }
  const center: readonly [number, number] = [U(-0.04, 0.04), U(-0.04, 0.04)]
  const rotation = U(-0.25, 0.25)
  const halfDepth = 0.27 * scale * U(0.9, 1.1)
  const noiseSigma = U(20, 35) * (hard ? 1.8 : 1)
  const vertebraPeriod = U(0.04, 0.05)
  const ribPeriod = U(0.045, 0.055)
  const phase = r()
  return {
    seed,
    size: options.size,
    slices: options.slices,
    t0,
    t1,
    center,
    rotation,
    halfWidth: 0.4 * scale,
    halfDepth,
    lungs,
    heart,
    liver,
    kidneys,
    lesions,
    noiseSigma,
    contrast: hard ? 0.5 : 1,
    // drawn after every standard draw, so they leave the standard phantom as it was
    intensityScale: hard ? U(0.85, 1.15) : 1,
    intensityOffset: hard ? U(-40, 40) : 0,
    vertebraPeriod,
    ribPeriod,
    phase
  }
}

/** Smooth 3-D texture: a few separable cosine products (cheap per slice, no per-voxel trig). */
const textureTables = (spec: PhantomSpec) => {
  const r = rng(hashSeed(spec.seed, 0x7e47))
  const n = spec.size
  return Array.from({ length: 4 }, () => {
    const wx = 2 * Math.PI * (1 + r() * 3)
    const wy = 2 * Math.PI * (1 + r() * 3)
    const wz = 2 * Math.PI * (1 + r() * 4)
    const px = r() * 6.3
    const py = r() * 6.3
    const pz = r() * 6.3
    return {
      x: Float32Array.from({ length: n }, (_, i) => Math.cos((wx * i) / n + px)),
      y: Float32Array.from({ length: n }, (_, i) => Math.cos((wy * i) / n + py)),
      z: (t: number) => Math.cos(wz * t + pz)
    }
  })
}

const frac = (x: number) => x - Math.floor(x)

/** Renders slice z into `hu` (int16) and `labels` (uint8), both size×size, row-major (y, x). */
export const renderPhantomSlice = (
  spec: PhantomSpec,
  tables: ReturnType<typeof textureTables>,
  z: number,
  hu: Int16Array,
  labels: Uint8Array
): void => {
  const S = spec.size
  const t = spec.t0 + ((z + 0.5) / spec.slices) * (spec.t1 - spec.t0)
  const w = bodyProfile(t)
  const a = spec.halfWidth * w
  const b = spec.halfDepth * w
  const cos = Math.cos(spec.rotation)
  const sin = Math.sin(spec.rotation)
  const pL = bump(t, spec.lungs.t, 0.6)
  const pH = bump(t, spec.heart.t)
  const pV = bump(t, spec.liver.t)
  const pK = bump(t, spec.kidneys.t)
  const lungRu = spec.lungs.radii[0] * pL
  const lungRv = spec.lungs.radii[1] * pL
  const heartRu = spec.heart.radii[0] * pH
  const heartRv = spec.heart.radii[1] * pH
  const liverRu = spec.liver.radii[0] * pV
  const liverRv = spec.liver.radii[1] * pV
  const kidRu = spec.kidneys.radii[0] * pK
  const kidRv = spec.kidneys.radii[1] * pK
  const disc = frac(t / spec.vertebraPeriod + spec.phase) < 0.22
  const rib = t > 0.36 && t < 0.96 && frac(t / spec.ribPeriod + spec.phase * 1.7) < 0.32
  const aorta = t > 0.08 && t < 0.7
  const zMm = BODY_LENGTH_MM / FOV_MM
  const lesions = spec.lesions
    .map((l) => ({ l, dz: (t - l.t) * zMm }))
    .filter(({ l, dz }) => Math.abs(dz) < l.radius)
    .map(({ l, dz }) => ({ u: l.u, v: l.v, r2: l.radius * l.radius - dz * dz, hu: l.hu, host: l.host }))
  const tz = tables.map((tb) => tb.z(t))
  const noise = rng(hashSeed(spec.seed, 0x9015e, z))
  const sigma = spec.noiseSigma
  /** A soft-tissue organ's HU moved toward the surrounding tissue's 40 by the phantom's contrast. */
  const soft = (hu: number) => (spec.contrast === 1 ? hu : 40 + (hu - 40) * spec.contrast)
  let spare = NaN
  const gauss = () => {
    if (!Number.isNaN(spare)) {
      const s = spare
      spare = NaN
      return s
    }
    const u1 = noise() || 1e-12
    const u2 = noise()
    const m = Math.sqrt(-2 * Math.log(u1))
    spare = m * Math.sin(2 * Math.PI * u2)
    return m * Math.cos(2 * Math.PI * u2)
  }
  const inEllipse = (u: number, v: number, cu: number, cv: number, ru: number, rv: number) => {
    if (ru <= 0 || rv <= 0) return false
    const du = (u - cu) / ru
    const dv = (v - cv) / rv
    return du * du + dv * dv <= 1
  }
  for (let y = 0; y < S; y++) {
    const py = (y + 0.5) / S - 0.5 - spec.center[1]
    for (let x = 0; x < S; x++) {
      const i = y * S + x
      const px = (x + 0.5) / S - 0.5 - spec.center[0]
      const u = (px * cos + py * sin) / a
      const v = (-px * sin + py * cos) / b
      const rho2 = u * u + v * v
      let value = -1000
      let label = 0
      if (rho2 <= 1) {
        let tex = 0
        for (let k = 0; k < tables.length; k++) tex += tables[k].x[x] * tables[k].y[y] * tz[k]
        value = rho2 > 0.8 ? -100 + 10 * tex : 40 + 8 * tex
        const rho = Math.sqrt(rho2)
        if (rib && rho > 0.8 && rho < 0.88 && v < 0.75) value = 700
        else if (inEllipse(u, v, 0, -0.63, 0.17, 0.2)) {
          value = disc ? 90 : Math.abs(u) > 0.12 || Math.abs(v + 0.63) > 0.15 ? 850 : 320
          label = 4
        } else if (inEllipse(u, v, 0, -0.86, 0.06, 0.07)) value = 15
        else if (aorta && inEllipse(u, v, -0.1, -0.38, 0.075, 0.1)) value = 170
        else {
          const lungRight = inEllipse(u, v, spec.lungs.center[0], spec.lungs.center[1], lungRu, lungRv)
          const lungLeft = inEllipse(u, v, -spec.lungs.center[0], spec.lungs.center[1], lungRu, lungRv)
          const heart = inEllipse(u, v, spec.heart.center[0], spec.heart.center[1], heartRu, heartRv)
          if (heart) {
            const pool = inEllipse(u, v, spec.heart.center[0] + 0.03, spec.heart.center[1] + 0.02, heartRu * 0.62, heartRv * 0.6)
            value = soft(pool ? 180 + 6 * tex : 45 + 6 * tex)
            label = 2
          } else if (lungRight || lungLeft) {
            value = -850 + 45 * tex
            label = 1
          } else if (inEllipse(u, v, spec.liver.center[0], spec.liver.center[1], liverRu, liverRv)) {
            value = soft(60 + 6 * tex)
            label = 3
          } else if (
            inEllipse(u, v, spec.kidneys.center[0], spec.kidneys.center[1], kidRu, kidRv) ||
            inEllipse(u, v, -spec.kidneys.center[0], spec.kidneys.center[1], kidRu, kidRv)
          ) {
            value = soft(35 + 5 * tex)
          }
          if (label === 1 || label === 3) {
            for (const l of lesions) {
              const du = (u - l.u) * a
              const dv = (v - l.v) * b
              if ((l.host === "lung") === (label === 1) && du * du + dv * dv <= l.r2) {
                value = l.host === "liver" ? soft(l.hu) : l.hu
                label = 5
              }
            }
          }
        }
      }
      if (rho2 <= 1) value = value * spec.intensityScale + spec.intensityOffset
      const out = Math.round(value + sigma * gauss())
      hu[i] = out < -1024 ? -1024 : out > 3071 ? 3071 : out
      labels[i] = label
    }
  }
}

export interface PhantomVolume {
  readonly spec: PhantomSpec
  readonly image: VolumeSource
  readonly labels: VolumeSource
}

/** The phantom as a pair of sources (image int16 HU, labels uint8); each slice is rendered once for both. */
export const phantomVolume = (seed: number, options: PhantomOptions): PhantomVolume => {
  const spec = phantomSpec(seed, options)
  const tables = textureTables(spec)
  const S = options.size
  const hu = new Int16Array(S * S)
  const lab = new Uint8Array(S * S)
  let rendered = -1
  const render = (z: number) => {
    if (rendered !== z) {
      renderPhantomSlice(spec, tables, z, hu, lab)
      rendered = z
    }
  }
  const spacingZ = ((spec.t1 - spec.t0) * BODY_LENGTH_MM) / options.slices
  const spacingXY = FOV_MM / S
  const affine = identityAffine([spacingXY, spacingXY, spacingZ]).map((row) => [...row])
  affine[0][3] = -FOV_MM / 2
  affine[1][3] = -FOV_MM / 2
  affine[2][3] = spec.t0 * BODY_LENGTH_MM
  const file = `phantom:torso#${seed}`
  const base = {
    file,
    format: "phantom" as const,
    dims: [options.slices, S, S] as const,
    spacing: [spacingZ, spacingXY, spacingXY] as const,
    affine,
    axisCodes: ["R", "A", "S"] as const,
    native: {
      dims: [S, S, options.slices],
      spacing: [spacingXY, spacingXY, spacingZ],
      axisCodes: ["R", "A", "S"] as const,
      voxelType: "int16"
    }
  }
  const reader = (which: Int16Array | Uint8Array) => (z: number, out: VoxelArray) =>
    Effect.sync(() => {
      render(z)
      out.set(which)
      return out
    })
  return {
    spec,
    image: { ...base, dtype: "int16", readSlice: reader(hu) },
    labels: { ...base, dtype: "uint8", native: { ...base.native, voxelType: "uint8" }, readSlice: reader(lab) }
  }
}

/** Seed of volume `index` of a phantom set, so sets with neighbouring seeds share no volumes. */
export const phantomVolumeSeed = (setSeed: number, index: number): number => hashSeed(setSeed, index, 0x5e7)
