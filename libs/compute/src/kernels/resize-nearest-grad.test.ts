import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, onBackend, randomValues, relativeError, setupBackends } from "./testing.ts"

before(setupBackends)

type Case = [[number, number, number, number], [number, number], boolean, boolean]

/** ∂Σ(resize(x)·r)/∂x on the current backend. */
const upsampleGrad =
  ([shape, size, alignCorners, halfPixelCenters]: Case, r: Float32Array) =>
  () => {
    const x = tf.tensor4d(
      randomValues(
        shape.reduce((a, b) => a * b),
        7
      ),
      shape
    )
    const weights = tf.tensor4d(r, [shape[0], ...size, shape[3]])
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size, alignCorners, halfPixelCenters), weights))
    )(x)
    tf.dispose([x, weights])
    return g
  }

/**
 * The reference: which input element each output element copies, read off the forward resize of
 * an index image, then r scattered back along it. (The cpu backend's gradient kernel is wrong for
 * batch > 1, so it cannot serve as the reference here.)
 */
const reference = async ([shape, size, alignCorners, halfPixelCenters]: Case, r: Float32Array): Promise<Float32Array> => {
  const n = shape.reduce((a, b) => a * b)
  const source = await onBackend("cpu", () => {
    const index = tf.tensor4d(
      Float32Array.from({ length: n }, (_, i) => i),
      shape
    )
    const up = tf.image.resizeNearestNeighbor(index, size, alignCorners, halfPixelCenters)
    index.dispose()
    return up
  })
  const out = new Float32Array(n)
  source.values.forEach((from, i) => (out[from] += r[i]))
  return out
}

test("ResizeNearestNeighborGrad matches the forward mapping: factors 2 and 3, half-pixel centers, stock fallbacks", async () => {
  const cases: ReadonlyArray<Case> = [
    [[2, 5, 7, 3], [10, 14], false, false],
    [[1, 4, 4, 8], [12, 8], false, false],
    [[2, 3, 5, 2], [6, 10], false, true],
    [[2, 3, 5, 2], [6, 10], true, false],
    [[1, 4, 6, 3], [7, 9], false, false]
  ]
  for (const c of cases) {
    const r = randomValues(c[0][0] * c[1][0] * c[1][1] * c[0][3], 99)
    const wasm = await onBackend("wasm", upsampleGrad(c, r))
    const err = relativeError(wasm.values, await reference(c, r))
    assert.ok(err <= 1e-5, `${JSON.stringify(c)}: ${err}`)
  }
})

test("ResizeNearestNeighborGrad leaks no tensors or heap buffers", async () => {
  await tf.setBackend("wasm")
  const c: Case = [[2, 5, 7, 3], [10, 14], false, false]
  const run = upsampleGrad(c, randomValues(2 * 10 * 14 * 3, 1))
  tf.dispose(run())
  const start = liveCounts()
  for (let i = 0; i < 3; i++) tf.dispose(run())
  assert.deepEqual(liveCounts(), start)
})
