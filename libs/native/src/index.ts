/**
 * @tomoprior/native: NHWC fp32 CPU kernels on the system's oneDNN, as a Node-API addon built at
 * install (scripts/build.mjs). Kernels work in place on a heap ArrayBuffer (the tfjs wasm memory)
 * at byte offsets, so tensors are never copied; what uses them for tfjs lives in @tomoprior/compute.
 */
import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { resolve } from "node:path"

/** Which convolution a `conv` call computes. */
export const ConvKind = { forward: 0, backwardData: 1, backwardWeights: 2 } as const
export type ConvKind = (typeof ConvKind)[keyof typeof ConvKind]

/** Activations fused into a forward conv or matmul (tfjs' `activation` attribute). */
export const Activation = { linear: 0, relu: 1, relu6: 2, elu: 3, sigmoid: 4, leakyrelu: 5 } as const
export type Activation = (typeof Activation)[keyof typeof Activation]

/** Elementwise binary ops of `binary`. */
export const BinaryOp = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, squaredDifference: 6 } as const
export type BinaryOp = (typeof BinaryOp)[keyof typeof BinaryOp]

/**
 * How an operand of `binary` meets the [rows, cols] grid: all of it, one row repeated down the
 * rows ([cols]), one column repeated across the columns ([rows]), or one value.
 */
export const Form = { full: 0, row: 1, column: 2, scalar: 3 } as const
export type Form = (typeof Form)[keyof typeof Form]

/** Elementwise unary ops of `unary`. */
export const UnaryOp = { relu: 0, step: 1, exp: 2, log: 3, neg: 4, sqrt: 5, rsqrt: 6, square: 7, sigmoid: 8, abs: 9 } as const
export type UnaryOp = (typeof UnaryOp)[keyof typeof UnaryOp]

/** Reductions of `reduce`. */
export const ReduceOp = { sum: 0, mean: 1, max: 2, min: 3 } as const
export type ReduceOp = (typeof ReduceOp)[keyof typeof ReduceOp]

/** A resize's shape and tfjs' flags (1/0): batch, inH, inW, C, outH, outW, alignCorners, halfPixelCenters. */
export type ResizeGeometry = [
  batch: number,
  inH: number,
  inW: number,
  channels: number,
  outH: number,
  outW: number,
  alignCorners: number,
  halfPixelCenters: number
]

/** A pooling's shape: batch, inH, inW, C, outH, outW, window H and W, strides, top and left padding, dilations. */
export type PoolGeometry = [
  batch: number,
  inH: number,
  inW: number,
  channels: number,
  outH: number,
  outW: number,
  filterH: number,
  filterW: number,
  strideH: number,
  strideW: number,
  padTop: number,
  padLeft: number,
  dilationH: number,
  dilationW: number
]

/** What the addon runs on. */
export interface NativeAbout {
  readonly onednn: string
  readonly runtime: string
  readonly isa: string
  /** Threads of the calling thread's kernels. */
  readonly threads: number
}

/**
 * The addon's functions. Tensors are byte offsets into `heap`; an optional tensor is -1 when absent.
 * Every tensor is bounds-checked; a configuration oneDNN cannot run throws an error whose `code`
 * is "UNSUPPORTED" (see `isUnsupported`). Layouts are NHWC; conv filters [KH, KW, Cin, Cout].
 */
export interface NativeAddon {
  /**
   * forward: a = x, b = filter, out = y (bias, fused activation); backward data: a = dy,
   * b = filter, out = dx; backward weights: a = x, b = dy, out = dW. Pads top/left/bottom/right,
   * dilation counted from 1 as in tfjs. Returns oneDNN's implementation name.
   */
  conv(
    heap: ArrayBuffer,
    kind: ConvKind,
    a: number,
    b: number,
    out: number,
    bias: number,
    activation: Activation,
    alpha: number,
    n: number,
    h: number,
    w: number,
    c: number,
    kh: number,
    kw: number,
    o: number,
    oh: number,
    ow: number,
    strideH: number,
    strideW: number,
    padTop: number,
    padLeft: number,
    padBottom: number,
    padRight: number,
    dilationH: number,
    dilationW: number
  ): string
  /** C[batch, M, N] = act(op(A)·op(B) + bias[N]); a batch of 1 broadcasts. Returns the implementation name. */
  matmul(
    heap: ArrayBuffer,
    a: number,
    b: number,
    c: number,
    bias: number,
    batchA: number,
    batchB: number,
    m: number,
    n: number,
    k: number,
    transposeA: number,
    transposeB: number,
    activation: Activation,
    alpha: number
  ): string
  /** Training-mode batch norm of x [rows, C]: writes y, the batch mean and the (biased) variance. */
  batchNormForward(
    heap: ArrayBuffer,
    x: number,
    gamma: number,
    beta: number,
    y: number,
    mean: number,
    variance: number,
    rows: number,
    channels: number,
    epsilon: number,
    relu: number
  ): void
  /** Its gradient: dx, dGamma, dBeta; beta when ReLU was fused (the mask is recomputed from x), else -1. */
  batchNormBackward(
    heap: ArrayBuffer,
    dy: number,
    x: number,
    beta: number,
    mean: number,
    variance: number,
    gamma: number,
    dx: number,
    dGamma: number,
    dBeta: number,
    rows: number,
    channels: number,
    epsilon: number
  ): void
  /** out = a ∘ b on a [rows, cols] grid, each operand in its `Form` (tfjs' broadcasting of a step). */
  binary(heap: ArrayBuffer, op: BinaryOp, a: number, aForm: Form, b: number, bForm: Form, out: number, rows: number, cols: number): void
  /** y = f(x) over n elements; alpha is Step's value where x ≤ 0. */
  unary(heap: ArrayBuffer, op: UnaryOp, x: number, y: number, n: number, alpha: number): void
  /** y = softmax of x [rows, cols] over its last axis. */
  softmax(heap: ArrayBuffer, x: number, y: number, rows: number, cols: number): void
  /**
   * One Adam step over [start, end) of the flat Float32Arrays (heap unused), bitwise the same as
   * the trainer's JavaScript loop; c1 = 1 − β₁ᵗ, c2 = 1 − β₂ᵗ.
   */
  adam(
    heap: ArrayBuffer,
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
  ): void
  /** out[o, j] = op over k of x[o, k, j], x viewed as [outer, r, inner]: a reduction over contiguous axes. */
  reduce(heap: ArrayBuffer, op: ReduceOp, x: number, out: number, outer: number, r: number, inner: number): void
  /** Nearest-neighbour resize of x [batch, inH, inW, C] to y [batch, outH, outW, C], tfjs' source rule. */
  resizeNearest(heap: ArrayBuffer, x: number, y: number, ...geometry: ResizeGeometry): void
  /** Its gradient (the exact adjoint): dx [batch, inH, inW, C] from dy [batch, outH, outW, C]. */
  resizeNearestGrad(heap: ArrayBuffer, dy: number, dx: number, ...geometry: ResizeGeometry): void
  /** Bilinear resize, tfjs' source rule and weights. */
  resizeBilinear(heap: ArrayBuffer, x: number, y: number, ...geometry: ResizeGeometry): void
  /** Its gradient (the exact adjoint). */
  resizeBilinearGrad(heap: ArrayBuffer, dy: number, dx: number, ...geometry: ResizeGeometry): void
  /** Max pooling of x [batch, inH, inW, C] to y [batch, outH, outW, C]; window, stride, top/left padding, dilation. */
  maxPool(heap: ArrayBuffer, x: number, y: number, ...geometry: PoolGeometry): void
  /** Its gradient: dx (x's shape) from dy, each window's dy going to the element its maximum came from. */
  maxPoolGrad(heap: ArrayBuffer, dy: number, x: number, dx: number, ...geometry: PoolGeometry): void
  /** dst[r·dstStride + k] = src[r·srcStride + k] for r < rows, k < cols: 4-byte elements, strides in elements. */
  copyRows(heap: ArrayBuffer, src: number, dst: number, rows: number, cols: number, srcStride: number, dstStride: number): void
  /** Threads of the calling JS thread's kernels (each worker thread sets its own). */
  setThreads(threads: number): void
  about(): NativeAbout
}

/** How to get the native kernels where they are missing. */
export const nativeRemedy = "apt-get install libdnnl-dev g++, then npm run build -w @tomoprior/native"

export type NativeLoad = { readonly addon: NativeAddon } | { readonly unavailable: string }

const builtPath = new URL("../build/tomoprior_native.node", import.meta.url).pathname
const reasonPath = new URL("../build/unavailable.txt", import.meta.url)

let loaded: NativeLoad | undefined

/**
 * Set to "off", the addon counts as absent even where it is built: how the tests (and a user
 * checking the fallback) run the wasm path on a machine with libdnnl-dev.
 */
export const nativeSwitch = "TOMOPRIOR_NATIVE"

/**
 * A path to an addon to load instead of the one `npm ci` built, e.g. one built against another
 * oneDNN with `build.mjs --out DIR` (how CI tests the oneDNN 3 build: scripts/check-onednn3.sh).
 */
export const addonOverride = "TOMOPRIOR_NATIVE_ADDON"

/** The addon, or why it is not there (switched off, not built and the build's reason, or it does not load). */
export const loadNative = (): NativeLoad => {
  loaded ??= (() => {
    if (process.env[nativeSwitch] === "off") return { unavailable: `the native kernels are switched off (${nativeSwitch}=off)` }
    const override = process.env[addonOverride]
    const addonPath = override ? resolve(override) : builtPath
    if (!existsSync(addonPath)) {
      if (override) return { unavailable: `the native kernels are not built: ${addonOverride}=${override} does not exist` }
      const why = existsSync(reasonPath) ? readFileSync(reasonPath, "utf8").trim() : "it was never built"
      return { unavailable: `the native kernels are not built: ${why}` }
    }
    try {
      return { addon: createRequire(import.meta.url)(addonPath) as NativeAddon }
    } catch (e) {
      return { unavailable: `the native kernels do not load: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` }
    }
  })()
  return loaded
}

/** Whether an error thrown by a kernel means "this configuration is not supported" (fall back). */
export const isUnsupported = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === "UNSUPPORTED"
