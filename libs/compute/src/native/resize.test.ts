import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, onBackend, relativeError } from "../kernels/testing.ts"
import { nativeKernelCounts, resetNativeKernelCounts } from "./index.ts"
import { filled, nativeSkip, setupNative } from "./testing.ts"

const skip = nativeSkip

before(() => setupNative())

type Case = readonly [ReadonlyArray<number>, [number, number], boolean, boolean]

/** ×2 (the zoo's upSampling2d), odd and non-integer factors, downsampling, C = 1, batch 1, 1×1, both attrs. */
const cases: ReadonlyArray<Case> = [
  [[2, 8, 8, 16], [16, 16], false, false],
  [[1, 5, 7, 1], [10, 14], false, false],
  [[2, 5, 7, 3], [11, 9], false, false],
  [[2, 9, 7, 3], [4, 5], false, false],
  [[1, 1, 1, 4], [3, 2], false, false],
  [[2, 5, 7, 3], [11, 9], true, false],
  [[2, 9, 7, 3], [4, 5], true, false],
  [[2, 6, 4, 2], [12, 8], false, true],
  [[2, 5, 7, 3], [11, 9], false, true],
  [[4, 32, 32, 16], [64, 64], false, false]
]

const methods = {
  nearest: {
    resize: tf.image.resizeNearestNeighbor,
    forward: "ResizeNearestNeighbor",
    gradient: "ResizeNearestNeighborGrad",
    tolerance: 0
  },
  bilinear: { resize: tf.image.resizeBilinear, forward: "ResizeBilinear", gradient: "ResizeBilinearGrad", tolerance: 1e-6 }
} as const
type Method = keyof typeof methods
const eachMethod = Object.entries(methods) as Array<[Method, (typeof methods)[Method]]>

test(
  "native nearest and bilinear resize match cpu (×2, odd and non-integer factors, downsampling, alignCorners, halfPixelCenters, C = 1, 1×1)",
  { skip },
  async () => {
    resetNativeKernelCounts()
    for (const [method, m] of eachMethod) {
      for (const [i, [shape, size, alignCorners, halfPixelCenters]] of cases.entries()) {
        const what = `${method} [${shape}] → ${size} align ${alignCorners} half ${halfPixelCenters}`
        const run = () => tf.tidy(() => m.resize(filled(shape, i) as tf.Tensor4D, size, alignCorners, halfPixelCenters))
        const native = await onBackend("wasm", run)
        const cpu = await onBackend("cpu", run)
        assert.deepEqual(native.shape, cpu.shape, what)
        const err = relativeError(native.values, cpu.values)
        assert.ok(err <= m.tolerance, `${what}: relative error ${err}`)
      }
      assert.deepEqual([nativeKernelCounts()[m.forward]?.native, nativeKernelCounts()[m.forward]?.fallback], [cases.length, 0], method)
    }
  }
)

/** ⟨resize(x), dy⟩ and ⟨x, grad(dy)⟩ in float64: equal for the exact gradient of the forward resize. */
const adjointGap = (
  method: Method,
  shape: ReadonlyArray<number>,
  size: [number, number],
  alignCorners: boolean,
  halfPixelCenters: boolean
) =>
  tf.tidy(() => {
    const x = filled(shape, 3) as tf.Tensor4D
    const y = methods[method].resize(x, size, alignCorners, halfPixelCenters)
    const dy = filled(y.shape, 4)
    const dx = tf.engine().runKernel(methods[method].gradient, { images: x, dy }, { alignCorners, halfPixelCenters }) as tf.Tensor
    const dot = (a: tf.Tensor, b: tf.Tensor) => {
      const [p, q] = [a.dataSync() as Float32Array, b.dataSync() as Float32Array]
      let sum = 0
      for (let i = 0; i < p.length; i++) sum += p[i] * q[i]
      return sum
    }
    return Math.abs(dot(y, dy) - dot(x, dx)) / Math.max(1, Math.abs(dot(y, dy)))
  })

test("native resize gradients match cpu image by image and are the exact adjoints of the forward resizes", { skip }, async () => {
  resetNativeKernelCounts()
  for (const [method, m] of eachMethod) {
    for (const [i, [shape, size, alignCorners, halfPixelCenters]] of cases.entries()) {
      const what = `${method} [${shape}] → ${size} align ${alignCorners} half ${halfPixelCenters}`
      const attrs = { alignCorners, halfPixelCenters }
      const x = () => filled(shape, i)
      const dy = () => filled([shape[0], ...size, shape[3]], i + 9)
      // cpu's gradients ignore halfPixelCenters, and its nearest one reads dy at the images' batch
      // stride (wrong beyond image 0): it is the reference one image at a time, where
      // halfPixelCenters moves no source pixel.
      const unmoved = !halfPixelCenters || (method === "nearest" && size[0] % shape[1] === 0 && size[1] % shape[2] === 0)
      if (unmoved) {
        const grad = (images: tf.Tensor, d: tf.Tensor) => tf.engine().runKernel(m.gradient, { images, dy: d }, attrs) as tf.Tensor
        const native = await onBackend("wasm", () => tf.tidy(() => grad(x(), dy())))
        const cpu = await onBackend("cpu", () =>
          tf.tidy(() => {
            const [xs, dys] = [x(), dy()]
            const one = (t: tf.Tensor, b: number) => tf.slice(t, [b, 0, 0, 0], [1, -1, -1, -1])
            return tf.concat(Array.from({ length: shape[0] }, (_, b) => grad(one(xs, b), one(dys, b))))
          })
        )
        const err = relativeError(native.values, cpu.values)
        assert.ok(err <= 1e-6, `${what}: relative error ${err}`)
      }
      await tf.setBackend("wasm")
      assert.ok(adjointGap(method, shape, size, alignCorners, halfPixelCenters) <= 1e-5, `${what}: not the adjoint`)
    }
    assert.equal(nativeKernelCounts()[m.gradient]?.fallback ?? 0, 0, method)
  }
})

test("the native resizes and their gradients leak no tensors or heap buffers", { skip }, async () => {
  await tf.setBackend("wasm")
  const x = filled([2, 4, 4, 3], 1)
  const loss = (a: tf.Tensor) =>
    tf.add(tf.sum(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [8, 8])), tf.sum(tf.image.resizeBilinear(a as tf.Tensor4D, [7, 9])))
  const step = () => tf.dispose(tf.grad(loss)(x))
  step()
  const start = liveCounts()
  for (let i = 0; i < 3; i++) step()
  assert.deepEqual(liveCounts(), start)
  x.dispose()
})
