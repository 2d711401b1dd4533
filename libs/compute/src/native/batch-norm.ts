import { util } from "@tensorflow/tfjs-core"
import { batchNormBackwardKernel, batchNormForwardKernel } from "../models/batch-norm.ts"
import { allFloat, heapOf, offsetOf, withOutputs } from "./heap.ts"
import type { NativeKernel } from "./registry.ts"

/**
 * The zoo BatchNorm's training step (models/batch-norm.ts), when the backend has these kernels:
 * statistics + normalization (+ ReLU) in one kernel, its gradient in another, each two passes over
 * memory on all of the process's threads.
 */
export const batchNormForward: NativeKernel = {
  name: batchNormForwardKernel,
  run: (addon, { inputs: { x, gamma, beta }, backend, attrs }) => {
    if (x === undefined || gamma === undefined || beta === undefined || !allFloat(x, gamma, beta)) return "not float32"
    const channels = x.shape.at(-1)!
    if (util.sizeFromShape(gamma.shape) !== channels || util.sizeFromShape(beta.shape) !== channels)
      return "γ or β do not match the channels"
    return withOutputs(backend, [x.shape, [channels], [channels]], ([y, mean, variance]) => {
      addon.batchNormForward(
        heapOf(backend),
        offsetOf(backend, x),
        offsetOf(backend, gamma),
        offsetOf(backend, beta),
        offsetOf(backend, y),
        offsetOf(backend, mean),
        offsetOf(backend, variance),
        util.sizeFromShape(x.shape) / channels,
        channels,
        attrs.epsilon as number,
        attrs.relu ? 1 : 0
      )
      return [y, mean, variance]
    })
  }
}

export const batchNormBackward: NativeKernel = {
  name: batchNormBackwardKernel,
  run: (addon, { inputs: { dy, x, beta, mean, variance, gamma }, backend, attrs }) => {
    if (dy === undefined || x === undefined || mean === undefined || variance === undefined || gamma === undefined) return "missing inputs"
    if (!allFloat(dy, x, mean, variance, gamma) || (beta !== undefined && !allFloat(beta))) return "not float32"
    const channels = x.shape.at(-1)!
    return withOutputs(backend, [x.shape, [channels], [channels]], ([dx, dGamma, dBeta]) => {
      addon.batchNormBackward(
        heapOf(backend),
        offsetOf(backend, dy),
        offsetOf(backend, x),
        beta === undefined ? -1 : offsetOf(backend, beta),
        offsetOf(backend, mean),
        offsetOf(backend, variance),
        offsetOf(backend, gamma),
        offsetOf(backend, dx),
        offsetOf(backend, dGamma),
        offsetOf(backend, dBeta),
        util.sizeFromShape(x.shape) / channels,
        channels,
        attrs.epsilon as number
      )
      return [dx, dGamma, dBeta]
    })
  }
}
