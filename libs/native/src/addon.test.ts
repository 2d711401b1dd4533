import assert from "node:assert/strict"
import { test } from "node:test"
import { ConvKind, isUnsupported, loadNative, type NativeAddon } from "./index.ts"

const load = loadNative()
const skip = "unavailable" in load ? load.unavailable : false
const addon = (): NativeAddon => ("addon" in load ? load.addon : assert.fail("the addon is not built"))

/** Deterministic values in [-1, 1). */
const values = (n: number, seed: number): Float64Array => {
  let s = seed >>> 0 || 1
  return Float64Array.from({ length: n }, () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 2 ** 31 - 1
  })
}

/** Float32 arrays laid out one after another in one heap: their byte offsets. */
const heapWith = (arrays: ReadonlyArray<ArrayLike<number> | number>) => {
  const sizes = arrays.map((a) => (typeof a === "number" ? a : a.length))
  const heap = new ArrayBuffer(4 * sizes.reduce((a, b) => a + b, 0) + 64)
  const offsets: number[] = []
  let at = 16
  arrays.forEach((a, i) => {
    offsets.push(at)
    if (typeof a !== "number") new Float32Array(heap, at, sizes[i]).set(a)
    at += 4 * sizes[i]
  })
  return { heap, offsets, view: (i: number) => new Float32Array(heap, offsets[i], sizes[i]) }
}

test("about() names the oneDNN version, its OpenMP runtime and the instruction set", { skip }, () => {
  const about = addon().about()
  assert.match(about.onednn, /^[23]\.\d+\.\d+$/)
  assert.equal(about.runtime, "OpenMP")
  assert.ok(about.threads >= 1)
})

test(
  "kernels refuse tensors outside the heap, misaligned offsets, a heap that is not an ArrayBuffer and a wrong argument count",
  { skip },
  () => {
    const a = addon()
    const { heap, offsets } = heapWith([16, 16, 16])
    const conv = (h: unknown, x: number) =>
      (a.conv as (...args: unknown[]) => string)(
        h,
        ConvKind.forward,
        x,
        offsets[1],
        offsets[2],
        -1,
        0,
        0,
        1,
        4,
        4,
        1,
        1,
        1,
        1,
        4,
        4,
        1,
        1,
        0,
        0,
        0,
        0,
        1,
        1
      )
    assert.throws(() => conv(heap, heap.byteLength - 8), /x: 16 floats at byte \d+ lie outside the heap/)
    assert.throws(() => conv(heap, offsets[0] + 2), /not 4-byte aligned/)
    assert.throws(() => conv(new Float32Array(heap), offsets[0]), /must be the heap's ArrayBuffer/)
    assert.throws(() => (a.matmul as (...args: unknown[]) => string)(heap, 0, 0), /expected 14 arguments, got 3/)
    assert.throws(() => a.setThreads(0), /positive integer/)
    conv(heap, offsets[0])
  }
)

test("an activation the addon does not fuse is UNSUPPORTED (the caller falls back)", { skip }, () => {
  const { heap, offsets } = heapWith([16, 1, 16])
  try {
    addon().conv(
      heap,
      ConvKind.forward,
      offsets[0],
      offsets[1],
      offsets[2],
      -1,
      9 as never,
      0,
      1,
      4,
      4,
      1,
      1,
      1,
      1,
      4,
      4,
      1,
      1,
      0,
      0,
      0,
      0,
      1,
      1
    )
    assert.fail("no error")
  } catch (e) {
    assert.ok(isUnsupported(e), String(e))
  }
})

/** Batch norm in float64: statistics, normalization (+ ReLU) and the gradient, from the definitions. */
const referenceBatchNorm = (x: Float64Array, dy: Float64Array, gamma: Float64Array, beta: Float64Array, C: number, relu: boolean) => {
  const rows = x.length / C
  const eps = 1e-3
  const mean = new Float64Array(C),
    variance = new Float64Array(C)
  for (let i = 0; i < x.length; i++) mean[i % C] += x[i] / rows
  for (let i = 0; i < x.length; i++) variance[i % C] += (x[i] - mean[i % C]) ** 2 / rows
  const xhat = x.map((v, i) => (v - mean[i % C]) / Math.sqrt(variance[i % C] + eps))
  const y = xhat.map((v, i) => {
    const a = gamma[i % C] * v + beta[i % C]
    return relu ? Math.max(0, a) : a
  })
  const dA = dy.map((v, i) => (relu && !(y[i] > 0) ? 0 : v))
  const dGamma = new Float64Array(C),
    dBeta = new Float64Array(C)
  for (let i = 0; i < x.length; i++) {
    dBeta[i % C] += dA[i]
    dGamma[i % C] += dA[i] * xhat[i]
  }
  const dx = dA.map((v, i) => {
    const c = i % C
    return (gamma[c] / Math.sqrt(variance[c] + eps)) * (v - dBeta[c] / rows - (xhat[i] * dGamma[c]) / rows)
  })
  return { mean, variance, y, dx, dGamma, dBeta }
}

const maxRelative = (got: Float32Array, want: Float64Array) => {
  let err = 0,
    scale = 0
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]))
    scale = Math.max(scale, Math.abs(want[i]))
  }
  return scale === 0 ? err : err / scale
}

test("batch norm forward and backward match a float64 reference (with and without ReLU, C = 1, one row)", { skip }, () => {
  for (const [rows, C] of [
    [1000, 7],
    [4097, 1],
    [1, 5],
    [20000, 16]
  ]) {
    for (const relu of [false, true]) {
      const x = values(rows * C, 1).map((v, i) => 3 + v * (1 + (i % C)))
      const dy = values(rows * C, 2)
      const gamma = values(C, 3).map((v) => 1 + v / 2),
        beta = values(C, 4).map((v) => v / 4)
      const want = referenceBatchNorm(x, dy, gamma, beta, C, relu)
      const { heap, offsets: o, view } = heapWith([x, gamma, beta, rows * C, C, C, dy, rows * C, C, C])
      addon().batchNormForward(heap, o[0], o[1], o[2], o[3], o[4], o[5], rows, C, 1e-3, relu ? 1 : 0)
      addon().batchNormBackward(heap, o[6], o[0], relu ? o[2] : -1, o[4], o[5], o[1], o[7], o[8], o[9], rows, C, 1e-3)
      const what = `${rows}×${C} relu=${relu}`
      assert.ok(maxRelative(view(4), want.mean) < 1e-6, `${what}: mean`)
      assert.ok(maxRelative(view(5), want.variance) < 1e-5, `${what}: variance`)
      assert.ok(maxRelative(view(3), want.y) < 1e-5, `${what}: y`)
      if (rows === 1) continue // one row: the normalized value and every gradient but dβ are 0 up to rounding
      for (const [k, i] of [
        ["dx", 7],
        ["dGamma", 8],
        ["dBeta", 9]
      ] as const)
        assert.ok(maxRelative(view(i), want[k]) < 1e-4, `${what}: ${k} error ${maxRelative(view(i), want[k])}`)
    }
  }
})

test("batch norm statistics and gradients are bitwise the same on 1 and 2 threads", { skip }, () => {
  const rows = 50000,
    C = 16
  const run = (threads: number) => {
    addon().setThreads(threads)
    const {
      heap,
      offsets: o,
      view
    } = heapWith([values(rows * C, 5), values(C, 6), values(C, 7), rows * C, C, C, values(rows * C, 8), rows * C, C, C])
    addon().batchNormForward(heap, o[0], o[1], o[2], o[3], o[4], o[5], rows, C, 1e-3, 1)
    addon().batchNormBackward(heap, o[6], o[0], o[2], o[4], o[5], o[1], o[7], o[8], o[9], rows, C, 1e-3)
    return [3, 4, 5, 7, 8, 9].map((i) => Array.from(view(i)))
  }
  assert.deepEqual(run(1), run(2))
})
