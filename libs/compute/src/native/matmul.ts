import { _FusedMatMul, BatchMatMul, broadcast_util, util, type TensorInfo } from "@tensorflow/tfjs-core"
import { Activation, type NativeAddon } from "@tomoprior/native"
import { activations } from "./conv.ts"
import { allFloat, heapOf, offsetOf, withOutputs } from "./heap.ts"
import type { KernelArgs, NativeKernel } from "./registry.ts"

/**
 * op(A)·op(B) over the batch dimensions (all but the last two): equal on both sides, or one side a
 * single matrix that every batch of the other shares; other broadcasts fall back.
 */
const product = (addon: NativeAddon, { inputs, backend, attrs }: KernelArgs, fused: boolean): TensorInfo | string => {
  const { a, b, bias, preluActivationWeights } = inputs
  if (a === undefined || b === undefined || !allFloat(a, b)) return "not float32"
  if (a.shape.length < 2 || b.shape.length < 2) return "rank < 2"
  const tA = Boolean(attrs.transposeA),
    tB = Boolean(attrs.transposeB)
  const m = a.shape.at(tA ? -1 : -2)!,
    k = a.shape.at(tA ? -2 : -1)!,
    n = b.shape.at(tB ? -2 : -1)!
  if (b.shape.at(tB ? -1 : -2) !== k) return `inner dimensions ${k} and ${b.shape.at(tB ? -1 : -2)}`
  const outerA = a.shape.slice(0, -2),
    outerB = b.shape.slice(0, -2)
  const batchA = util.sizeFromShape(outerA),
    batchB = util.sizeFromShape(outerB)
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i])
  if (!sameOuter && batchA !== 1 && batchB !== 1) return `batch shapes [${outerA}] and [${outerB}]`
  const outer = broadcast_util.assertAndGetBroadcastShape(outerA, outerB)
  const activation = fused ? activations[(attrs.activation as string | undefined) ?? "linear"] : Activation.linear
  if (activation === undefined || preluActivationWeights !== undefined) return `activation ${String(attrs.activation)}`
  if (bias !== undefined && (bias.dtype !== "float32" || util.sizeFromShape(bias.shape) !== n || bias.shape.at(-1) !== n))
    return `bias of shape [${bias.shape}]`
  return withOutputs(backend, [[...outer, m, n]], ([c]) => {
    const biasAt = bias === undefined ? -1 : offsetOf(backend, bias)
    const alpha = (attrs.leakyreluAlpha as number | undefined) ?? 0
    addon.matmul(
      heapOf(backend),
      offsetOf(backend, a),
      offsetOf(backend, b),
      offsetOf(backend, c),
      biasAt,
      batchA,
      batchB,
      m,
      n,
      k,
      tA ? 1 : 0,
      tB ? 1 : 0,
      activation,
      alpha
    )
    return c
  })
}

export const batchMatMul: NativeKernel = { name: BatchMatMul, run: (addon, args) => product(addon, args, false) }

export const fusedMatMul: NativeKernel = { name: _FusedMatMul, run: (addon, args) => product(addon, args, true) }
