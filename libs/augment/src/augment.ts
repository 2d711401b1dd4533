import { Effect, Schema } from "effect"
import { makeRng } from "./rng.ts"
import {
  addNoise,
  adjustIntensity,
  affine,
  centerCropOrPad,
  cropOrPad,
  equalize,
  flipHorizontal,
  flipVertical,
  gaussianBlur,
  type Image
} from "./ops.ts"

const Probability = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const NonNegative = Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))
const field = <S extends Schema.Top>(schema: S, value: S["Type"]) => schema.pipe(Schema.withDecodingDefaultTypeKey(Effect.succeed(value)))
const group = <F extends Schema.Struct.Fields>(fields: F) => {
  const s = Schema.Struct(fields)
  return s.pipe(Schema.withDecodingDefaultKey(Effect.succeed({} as (typeof s)["Encoded"])))
}

/**
 * Augmentation settings shared by both pre-training stages: each transform has a probability `p`
 * and a strength. Defaults follow the authors' `medium_aug_rot` in spirit (see method.md §1.2).
 */
export const AugmentConfig = Schema.Struct({
  /** Where a larger slice is cropped (or a smaller one placed in the padding): random or centered. */
  randomCrop: field(Schema.Boolean, true),
  flip: group({ p: field(Probability, 0.5) }),
  affine: group({
    p: field(Probability, 0.5),
    /** Largest rotation, degrees either way. */
    degrees: field(NonNegative, 10),
    /** Largest relative zoom either way. */
    scale: field(NonNegative.check(Schema.isLessThan(1)), 0.1),
    /** Largest shift as a fraction of the size. */
    shift: field(NonNegative, 0.05)
  }),
  blur: group({ p: field(Probability, 0.3), maxSigma: field(NonNegative, 1.2) }),
  intensity: group({
    p: field(Probability, 0.5),
    brightness: field(NonNegative, 0.1),
    contrast: field(NonNegative, 0.2),
    /** Gamma drawn from [1 − gamma, 1 + gamma]. */
    gamma: field(NonNegative.check(Schema.isLessThan(1)), 0.1)
  }),
  equalize: group({ p: field(Probability, 0.2) }),
  noise: group({ p: field(Probability, 0.5), std: field(NonNegative, 0.03) })
})
export type AugmentConfig = typeof AugmentConfig.Type

export const defaultAugment: AugmentConfig = Schema.decodeUnknownSync(AugmentConfig)({})

/** Every probability set to 0 and a centered crop: what validation sees. */
export const noAugment: AugmentConfig = Schema.decodeUnknownSync(AugmentConfig)({
  randomCrop: false,
  flip: { p: 0 },
  affine: { p: 0 },
  blur: { p: 0 },
  intensity: { p: 0 },
  equalize: { p: 0 },
  noise: { p: 0 }
})

/**
 * One augmented copy of a slice at `size` × `size`, fully determined by `seed` (derive it from the
 * step and slot so a resumed run sees exactly the same inputs).
 */
export const augmentSlice = (data: Float32Array, h: number, w: number, size: number, config: AugmentConfig, seed: number): Float32Array => {
  const rng = makeRng(seed)
  const sym = (a: number) => rng.uniform(-a, a)
  let img: Image = config.randomCrop ? cropOrPad({ data, h, w }, size, (e) => rng.int(e + 1)) : centerCropOrPad({ data, h, w }, size)
  if (rng.chance(config.flip.p)) img = flipHorizontal(img)
  if (rng.chance(config.flip.p)) img = flipVertical(img)
  if (rng.chance(config.affine.p)) {
    const a = config.affine
    img = affine(img, { degrees: sym(a.degrees), scale: 1 + sym(a.scale), shiftY: sym(a.shift) * size, shiftX: sym(a.shift) * size })
  }
  if (rng.chance(config.blur.p)) img = gaussianBlur(img, rng.uniform(0.3, Math.max(0.3, config.blur.maxSigma)))
  if (rng.chance(config.intensity.p)) {
    const t = config.intensity
    img = adjustIntensity(img, { brightness: sym(t.brightness), contrast: 1 + sym(t.contrast), gamma: 1 + sym(t.gamma) })
  }
  if (rng.chance(config.equalize.p)) img = equalize(img)
  if (rng.chance(config.noise.p)) img = addNoise(img, config.noise.std, rng.normal)
  return img.data
}
