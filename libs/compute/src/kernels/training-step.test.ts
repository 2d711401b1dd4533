import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, randomValues, relativeError, setupBackends } from "./testing.ts"

const tolerance = 1e-4

const weightShapes: Record<string, [number, number, number, number]> = {
  stem: [3, 3, 1, 4],
  down: [3, 3, 4, 8],
  projection: [1, 1, 4, 8],
  up: [2, 2, 4, 8],
  head: [3, 3, 8, 2]
}

/**
 * A small network touching every project kernel in its backward pass: convs with stride 1 and 2
 * (both dW forms, all dx phases), batch-norm statistics (Mean, Sum, Tile), max pooling, a
 * residual 1×1 projection, a transposed conv and a skip concatenation (SplitV).
 */
const loss = (x: tf.Tensor4D, target: tf.Tensor4D, w: Record<string, tf.Tensor4D>): tf.Scalar => {
  const h = tf.conv2d(x, w.stem, 1, "same")
  const { mean, variance } = tf.moments(h, [0, 1, 2], true)
  const normalized = tf.relu(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-3)))) as tf.Tensor4D
  const pooled = tf.maxPool(normalized, 2, 2, "valid")
  const down = tf.relu(tf.add(tf.conv2d(pooled, w.down, 2, "same"), tf.conv2d(pooled, w.projection, 2, "same"))) as tf.Tensor4D
  const up = tf.conv2dTranspose(down, w.up, [x.shape[0], 6, 6, 4], 2, "same")
  const out = tf.conv2d(tf.concat([up, pooled], 3), w.head, 1, "valid")
  return tf.mean(tf.square(tf.sub(out, target)))
}

const gradients = async (backend: "wasm" | "cpu"): Promise<Record<string, Float32Array>> => {
  await tf.setBackend(backend)
  const x = tf.tensor4d(randomValues(2 * 12 * 12, 1), [2, 12, 12, 1])
  const target = tf.tensor4d(randomValues(2 * 4 * 4 * 2, 2), [2, 4, 4, 2])
  const names = Object.keys(weightShapes)
  const weights = names.map((n, i) =>
    tf.tensor4d(
      randomValues(
        weightShapes[n].reduce((a, b) => a * b),
        10 + i
      ),
      weightShapes[n]
    )
  )
  const grads = tf.grads((...ws: Array<tf.Tensor>) => loss(x, target, Object.fromEntries(names.map((n, i) => [n, ws[i] as tf.Tensor4D]))))(
    weights
  )
  const out = Object.fromEntries(await Promise.all(names.map(async (n, i) => [n, (await grads[i].data()) as Float32Array] as const)))
  tf.dispose([x, target, ...weights, ...grads])
  return out
}

before(setupBackends)

test("whole-network gradients on wasm with the project kernels match cpu", async () => {
  const wasm = await gradients("wasm")
  const cpu = await gradients("cpu")
  for (const name of Object.keys(weightShapes)) {
    const err = relativeError(wasm[name], cpu[name])
    assert.ok(err <= tolerance, `${name}: relative error ${err}`)
  }
})

test("tensor and heap buffer counts stay flat across training steps", async () => {
  await gradients("wasm")
  const start = liveCounts()
  for (let i = 0; i < 3; i++) await gradients("wasm")
  assert.deepEqual(liveCounts(), start)
})
