import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo
} from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { sliceBox } from "./slice.ts"
import { markProjectKernel, view, withScratch, type Scratch } from "./wasm-ops.ts"

/**
 * One output phase r of a strided transposed conv along one axis: dx[s·q + r] =
 * Σ_{t<taps} dy[q + delta − t] · W[rho + s·t], a stride-1 conv with the sub-filter W[rho::s].
 */
interface Phase {
  readonly rho: number
  readonly delta: number
  readonly taps: number
}

const phasesOf = (k: number, s: number, padBefore: number): ReadonlyArray<Phase> =>
  Array.from({ length: s }, (_, r) => {
    const rho = (r + padBefore) % s
    return { rho, delta: Math.floor((r + padBefore) / s), taps: Math.max(0, Math.ceil((k - rho) / s)) }
  })

/**
 * The column phases share one conv whose output channels are [phase, ci]: that output is already
 * column-interleaved in memory. `before` is the common left pad, `window` the common filter width.
 */
interface ColumnPlan {
  readonly phases: ReadonlyArray<Phase>
  readonly before: number
  readonly window: number
}

const columnPlan = (phases: ReadonlyArray<Phase>): ColumnPlan | undefined => {
  const active = phases.filter((p) => p.taps > 0)
  if (active.length === 0) return undefined
  const before = Math.max(...active.map((p) => p.taps - 1 - p.delta))
  return { phases, before, window: Math.max(...active.map((p) => p.delta)) + before + 1 }
}

/** Runs a stride-1 conv of dy with pads that may be negative (those crop dy instead). */
const convWithPads = (
  s: Scratch,
  dy: TensorInfo,
  filter: TensorInfo,
  top: number,
  bottom: number,
  left: number,
  right: number
): TensorInfo => {
  const [b, oh, ow, co] = dy.shape
  const cropTop = Math.max(0, -top),
    cropBottom = Math.max(0, -bottom)
  const cropLeft = Math.max(0, -left),
    cropRight = Math.max(0, -right)
  let input = dy
  if (cropTop + cropBottom + cropLeft + cropRight > 0) {
    input = sliceBox(s.backend, dy, [0, cropTop, cropLeft, 0], [b, oh - cropTop - cropBottom, ow - cropLeft - cropRight, co])
    s.adopt(input)
  }
  return s.run(
    "Conv2D",
    { x: input, filter },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [Math.max(0, top), Math.max(0, bottom)],
        [Math.max(0, left), Math.max(0, right)],
        [0, 0]
      ],
      dilations: [1, 1],
      dataFormat: "NHWC"
    }
  )
}

/**
 * dx of a conv (and the forward pass of conv2dTranspose). The stock wasm kernel is a naive loop
 * running at 3 GFLOP/s; this is XNNPACK convs at full speed: for stride 1 one conv with the
 * flipped filter, for stride s the sub-pixel decomposition — one conv per row phase, all column
 * phases as output channels, phases interleaved by a Concat of contiguous rows.
 */
export const conv2dBackpropInput = (args: {
  inputs: { dy: TensorInfo; filter: TensorInfo }
  backend: BackendWasm
  attrs: Conv2DBackpropInputAttrs
}): TensorInfo => {
  const {
    inputs: { dy, filter },
    backend,
    attrs
  } = args
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat)
  )
  if (info.dataFormat !== "channelsLast") throw new Error("compute: Conv2DBackpropInput supports NHWC only")
  const { batchSize: b, inHeight: H, inWidth: W, inChannels: ci, outChannels: co, outHeight: oh } = info
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info
  const Qh = Math.ceil(H / sh),
    Qw = Math.ceil(W / sw)
  const rows = phasesOf(kh, sh, info.padInfo.top)
  const cols = columnPlan(phasesOf(kw, sw, info.padInfo.left))
  const w = (backend.typedArrayFromHeap(filter) as Float32Array).slice()
  return withScratch(backend, (s) => {
    const rowBlocks = rows.map((row) => {
      if (cols === undefined || row.taps === 0) {
        const zeros = s.alloc([b, Qh, Qw, sw * ci])
        backend.typedArrayFromHeap(zeros).fill(0)
        return zeros
      }
      const T = row.taps,
        K = cols.window
      const f = s.alloc([T, K, co, sw * ci])
      const fv = backend.typedArrayFromHeap(f) as Float32Array
      fv.fill(0)
      for (let u = 0; u < T; u++) {
        const i = row.rho + sh * (T - 1 - u)
        for (let v = 0; v < K; v++) {
          for (const [c, col] of cols.phases.entries()) {
            const t = col.delta + cols.before - v
            if (t < 0 || t >= col.taps) continue
            const j = col.rho + sw * t
            for (let ch = 0; ch < ci; ch++) {
              const src = ((i * kw + j) * ci + ch) * co
              const dst = (u * K + v) * co * (sw * ci) + c * ci + ch
              for (let o = 0; o < co; o++) fv[dst + o * sw * ci] = w[src + o]
            }
          }
        }
      }
      const right = Qw + K - 1 - cols.before - info.outWidth
      return convWithPads(s, dy, f, T - 1 - row.delta, Qh + row.delta - oh, cols.before, right)
    })
    const interleaved =
      sh === 1
        ? view(rowBlocks[0], [b, Qh, Qw * sw, ci])
        : view(
            s.run(
              "Concat",
              rowBlocks.map((t) => view(t, [b, Qh, 1, Qw * sw * ci])),
              { axis: 2 }
            ),
            [b, Qh * sh, Qw * sw, ci]
          )
    if (Qh * sh === H && Qw * sw === W) return s.release(interleaved)
    return sliceBox(backend, interleaved, [0, 0, 0, 0], [b, H, W, ci])
  })
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: "wasm",
  kernelFunc: markProjectKernel(conv2dBackpropInput as unknown as KernelFunc)
}
