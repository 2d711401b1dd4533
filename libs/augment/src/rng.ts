/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) so sampling and augmentation are
 * reproducible for a seed on every platform — Math.random cannot be seeded.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number
  /** Uniform in [lo, hi). */
  readonly uniform: (lo: number, hi: number) => number
  /** Standard normal (Box–Muller). */
  readonly normal: () => number
  /** True with probability p. */
  readonly chance: (p: number) => boolean
  /** Fisher–Yates shuffle of a copy. */
  readonly shuffle: <T>(items: ReadonlyArray<T>) => Array<T>
}

const splitmix32 = (state: number): [number, number] => {
  const s = (state + 0x9e3779b9) | 0
  let z = s
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return [s, (z ^ (z >>> 16)) >>> 0]
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k))

/**
 * Mixes a seed with further integers (step, slot, volume…) into one 32-bit seed, so each unit of
 * work gets its own stream regardless of the order the work is done in (needed to resume exactly).
 */
export const deriveSeed = (seed: number, ...parts: ReadonlyArray<number>): number => {
  let state = seed >>> 0
  let out = 0
  for (const p of [0x5eed, ...parts]) {
    ;[state, out] = splitmix32((state ^ Math.imul(p | 0, 0x27d4eb2d)) | 0)
    state = (state ^ out) | 0
  }
  return out
}

export const makeRng = (seed: number): Rng => {
  let sm = seed >>> 0
  const s = new Uint32Array(4)
  for (let i = 0; i < 4; i++) [sm, s[i]] = splitmix32(sm)
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0
    const t = s[1] << 9
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 11)
    return result
  }
  const next = () => nextU32() / 4294967296
  const int = (n: number) => Math.floor(next() * n)
  let spare: number | undefined
  const normal = () => {
    if (spare !== undefined) {
      const v = spare
      spare = undefined
      return v
    }
    const u = 1 - next()
    const r = Math.sqrt(-2 * Math.log(u))
    const theta = 2 * Math.PI * next()
    spare = r * Math.sin(theta)
    return r * Math.cos(theta)
  }
  return {
    next,
    int,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    normal,
    chance: (p) => p > 0 && next() < p,
    shuffle: (items) => {
      const a = [...items]
      for (let i = a.length - 1; i > 0; i--) {
        const j = int(i + 1)
        ;[a[i], a[j]] = [a[j], a[i]]
      }
      return a
    }
  }
}
