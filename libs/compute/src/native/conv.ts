import { backend_util, Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, FusedConv2D, util, type TensorInfo } from "@tensorflow/tfjs-core"
import { Activation, ConvKind, type NativeAddon } from "@tomoprior/native"
import { allFloat, heapOf, offsetOf, withOutputs } from "./heap.ts"
import type { KernelArgs, NativeKernel } from "./registry.ts"

type ConvInfo = backend_util.Conv2DInfo

/** tfjs' fused activations the addon fuses too (prelu needs its weights: not fused). */
export const activations: Readonly<Record<string, Activation>> = {
  linear: Activation.linear,
  relu: Activation.relu,
  relu6: Activation.relu6,
  elu: Activation.elu,
  sigmoid: Activation.sigmoid,
  leakyrelu: Activation.leakyrelu
}

/** Geometry of a tfjs conv, or why the addon does not take it. */
const convInfo = (
  xShape: ReadonlyArray<number>,
  filterShape: ReadonlyArray<number>,
  attrs: KernelArgs["attrs"],
  dilations: number | [number, number] = 1
): ConvInfo | string => {
  const format = backend_util.convertConv2DDataFormat(attrs.dataFormat as "NHWC" | "NCHW")
  if (format !== "channelsLast") return "NCHW data format"
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    dilations,
    attrs.pad as backend_util.ExplicitPadding,
    attrs.dimRoundingMode as "floor" | "round" | "ceil" | undefined,
    false,
    format
  )
}

const run = (
  addon: NativeAddon,
  heap: ArrayBuffer,
  kind: ConvKind,
  [a, b, out]: ReadonlyArray<number>,
  info: ConvInfo,
  bias = -1,
  activation: Activation = Activation.linear,
  alpha = 0
) => {
  const p = info.padInfo
  addon.conv(
    heap,
    kind,
    a,
    b,
    out,
    bias,
    activation,
    alpha,
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    p.top,
    p.left,
    p.bottom,
    p.right,
    info.dilationHeight,
    info.dilationWidth
  )
}

const forward = (addon: NativeAddon, { inputs, backend, attrs }: KernelArgs, fused: boolean): TensorInfo | string => {
  const { x, filter, bias, preluActivationWeights } = inputs
  if (x === undefined || filter === undefined || !allFloat(x, filter)) return "not float32"
  const activation = fused ? activations[(attrs.activation as string | undefined) ?? "linear"] : Activation.linear
  if (activation === undefined || preluActivationWeights !== undefined) return `activation ${String(attrs.activation)}`
  if (
    bias !== undefined &&
    (bias.dtype !== "float32" || util.sizeFromShape(bias.shape) !== filter.shape[3] || bias.shape.at(-1) !== filter.shape[3])
  )
    return `bias of shape [${bias.shape}]`
  const info = convInfo(x.shape, filter.shape, attrs, attrs.dilations as number | [number, number])
  if (typeof info === "string") return info
  return withOutputs(backend, [info.outShape], ([y]) => {
    const heap = heapOf(backend)
    const alpha = (attrs.leakyreluAlpha as number | undefined) ?? 0
    const biasAt = bias === undefined ? -1 : offsetOf(backend, bias)
    run(
      addon,
      heap,
      ConvKind.forward,
      [offsetOf(backend, x), offsetOf(backend, filter), offsetOf(backend, y)],
      info,
      biasAt,
      activation,
      alpha
    )
    return y
  })
}

export const conv2d: NativeKernel = { name: Conv2D, run: (addon, args) => forward(addon, args, false) }

export const fusedConv2d: NativeKernel = { name: FusedConv2D, run: (addon, args) => forward(addon, args, true) }

export const conv2dBackpropInput: NativeKernel = {
  name: Conv2DBackpropInput,
  run: (addon, { inputs: { dy, filter }, backend, attrs }) => {
    if (dy === undefined || filter === undefined || !allFloat(dy, filter)) return "not float32"
    const info = convInfo(attrs.inputShape as number[], filter.shape, attrs)
    if (typeof info === "string") return info
    return withOutputs(backend, [info.inShape], ([dx]) => {
      run(addon, heapOf(backend), ConvKind.backwardData, [offsetOf(backend, dy), offsetOf(backend, filter), offsetOf(backend, dx)], info)
      return dx
    })
  }
}

export const conv2dBackpropFilter: NativeKernel = {
  name: Conv2DBackpropFilter,
  run: (addon, { inputs: { x, dy }, backend, attrs }) => {
    if (x === undefined || dy === undefined || !allFloat(x, dy)) return "not float32"
    const filterShape = attrs.filterShape as [number, number, number, number]
    const info = convInfo(x.shape, filterShape, attrs)
    if (typeof info === "string") return info
    return withOutputs(backend, [filterShape], ([dw]) => {
      run(addon, heapOf(backend), ConvKind.backwardWeights, [offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, dw)], info)
      return dw
    })
  }
}
