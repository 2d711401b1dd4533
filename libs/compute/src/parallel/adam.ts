import type { AdamOptions } from "@tomoprior/core"
/** A run of the flat parameter vector that is updated this step (frozen layers are left out). */
export interface Range {
  readonly start: number
  readonly end: number
}

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
