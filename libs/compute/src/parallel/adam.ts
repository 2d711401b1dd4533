import type { AdamOptions } from "@tomoprior/core"
/** A run of the flat parameter vector that is updated this step (frozen layers are left out). */
export interface Range {
  readonly start: number
  readonly end: number
}

/**
 * One Adam step over [start, end) of the flat arrays, bitwise the same as `Adam.update`'s loop
 * (c1 = 1 − β₁ᵗ, c2 = 1 − β₂ᵗ): what the native backend runs instead.
 */
export type AdamKernel = (
  weights: Float32Array,
  grads: Float32Array,
  m: Float32Array,
  v: Float32Array,
  start: number,
  end: number,
  lr: number,
  beta1: number,
  beta2: number,
  epsilon: number,
  weightDecay: number,
  c1: number,
  c2: number
) => void

let kernel: AdamKernel | undefined

/** Runs this thread's Adam updates through `k` from now on (undefined: the JavaScript loop). */
export const setAdamKernel = (k: AdamKernel | undefined): void => {
  kernel = k
}

/** Adjacent ranges joined, so a kernel is called once per run of updated parameters. */
const merged = (ranges: ReadonlyArray<Range>): Range[] =>
  ranges.reduce<Range[]>((out, r) => {
    const last = out.at(-1)
    if (last !== undefined && last.end === r.start) out[out.length - 1] = { start: last.start, end: r.end }
    else if (r.end > r.start) out.push(r)
    return out
  }, [])

/**
 * Adam over one flat Float32Array of all parameters, in plain JS: the same arithmetic on every
 * replica and every backend, so replicas stay bit-identical without exchanging weights.
 */
export class Adam {
  readonly m: Float32Array
  readonly v: Float32Array
  step = 0

  constructor(
    readonly options: AdamOptions,
    size: number
  ) {
    this.m = new Float32Array(size)
    this.v = new Float32Array(size)
  }

  update(weights: Float32Array, grads: Float32Array, ranges: ReadonlyArray<Range>, lr: number = this.options.lr): void {
    const b1 = this.options.beta1 ?? 0.9
    const b2 = this.options.beta2 ?? 0.999
    const eps = this.options.epsilon ?? 1e-7
    const decay = this.options.weightDecay ?? 0
    this.step += 1
    const c1 = 1 - b1 ** this.step
    const c2 = 1 - b2 ** this.step
    const { m, v } = this
    if (kernel !== undefined) {
      for (const { start, end } of merged(ranges)) kernel(weights, grads, m, v, start, end, lr, b1, b2, eps, decay, c1, c2)
      return
    }
    for (const { start, end } of ranges) {
      for (let i = start; i < end; i++) {
        const g = grads[i]
        m[i] = b1 * m[i] + (1 - b1) * g
        v[i] = b2 * v[i] + (1 - b2) * g * g
        weights[i] -= lr * (m[i] / c1 / (Math.sqrt(v[i] / c2) + eps) + decay * weights[i])
      }
    }
  }
}
