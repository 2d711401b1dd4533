import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { BatchNorm } from "../models/batch-norm.ts"
import { liveCounts, randomValues, relativeError } from "../kernels/testing.ts"
import { nativeKernelCounts, resetNativeKernelCounts } from "./index.ts"
import { nativeSkip, setupNative } from "./testing.ts"

const skip = nativeSkip

before(() => setupNative())

/** A training-mode call of the layer and its gradients w.r.t. x, γ and β, plus the statistics it recorded. */
const run = async (backend: "wasm" | "cpu", shape: ReadonlyArray<number>, relu: boolean) => {
  await tf.setBackend(backend)
  const channels = shape.at(-1)!
  const size = shape.reduce((a, b) => a * b, 1)
  const layer = new BatchNorm({ relu })
  layer.build([...shape])
  const gamma = tf.tensor1d(randomValues(channels, 3).map((v) => 1 + 0.5 * v))
  const beta = tf.tensor1d(randomValues(channels, 4).map((v) => 0.3 * v))
  const moving = [tf.zeros([channels]), tf.ones([channels])]
  layer.setWeights([gamma, beta, ...moving])
  // Values offset from 0 with unequal spreads, so mean and variance both matter.
  const initial = tf.tensor(
    randomValues(size, 1).map((v, i) => 2 + v * (1 + (i % channels))),
    [...shape]
  )
  const x = tf.variable(initial)
  const upstream = tf.tensor(randomValues(size, 2), [...shape])
  const [g, b] = layer.trainableWeights.map((w) => w.read() as tf.Variable)
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, upstream)) as tf.Scalar,
    [x, g, b]
  )
  const out = {
    loss: value.dataSync()[0],
    dx: grads[x.name].dataSync() as Float32Array,
    dGamma: grads[g.name].dataSync() as Float32Array,
    dBeta: grads[b.name].dataSync() as Float32Array,
    stats: layer.recorded[0]
  }
  tf.dispose([value, grads, gamma, beta, ...moving, initial, x, upstream])
  for (const w of layer.weights) w.dispose()
  return out
}

test(
  "BatchNorm trains through the native kernels and matches its composed path on cpu (value, dx, dγ, dβ, statistics)",
  { skip },
  async () => {
    for (const shape of [
      [3, 5, 4, 6],
      [2, 7, 9, 1],
      [1, 1, 1, 3],
      [8, 16],
      [2, 33, 17, 16],
      [4, 9, 11, 96]
    ]) {
      for (const relu of [false, true]) {
        resetNativeKernelCounts()
        const native = await run("wasm", shape, relu)
        assert.equal(nativeKernelCounts().TomoBatchNormForward?.native, 1, "the native kernel ran")
        const cpu = await run("cpu", shape, relu)
        const what = `[${shape}] relu=${relu}`
        assert.ok(Math.abs(native.loss - cpu.loss) <= 1e-5 * Math.max(1, Math.abs(cpu.loss)), `${what}: loss ${native.loss} vs ${cpu.loss}`)
        for (const k of ["dx", "dGamma", "dBeta"] as const) {
          const err = relativeError(native[k], cpu[k])
          assert.ok(err <= 1e-4, `${what}: ${k} relative error ${err}`)
        }
        assert.ok(relativeError(native.stats.mean, cpu.stats.mean) <= 1e-6, `${what}: mean`)
        assert.ok(relativeError(native.stats.variance, cpu.stats.variance) <= 1e-5, `${what}: variance`)
      }
    }
  }
)

test("the native BatchNorm leaks no tensors or heap buffers across steps", { skip }, async () => {
  await run("wasm", [2, 6, 6, 4], true)
  const start = liveCounts()
  for (let i = 0; i < 3; i++) await run("wasm", [2, 6, 6, 4], true)
  assert.deepEqual(liveCounts(), start)
})
