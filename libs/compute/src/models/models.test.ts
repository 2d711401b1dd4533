import { describe, it, before } from "node:test"
import assert from "node:assert/strict"
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import * as tfl from "@tensorflow/tfjs-layers"
import { BatchNorm, batchNormLayers } from "./batch-norm.ts"
import { buildEncoder, defaultEncoderSpec, encoderPrefix, type EncoderSpec } from "./zoo.ts"
import { buildProjectionModel, buildScoreModel, buildUNet, scoreMapModel, withPooledFeatures } from "./heads.ts"

const spec = (over: Partial<EncoderSpec> = {}): EncoderSpec => ({ ...defaultEncoderSpec, width: 0.25, inputSize: 16, ...over })

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])

/** Batch norm written with plain differentiable ops: the reference for the custom gradient. */
const referenceBatchNorm = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, relu: boolean): tf.Tensor => {
  const { mean, variance } = tf.moments(x, [0, 1, 2])
  const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-3))), gamma), beta)
  return relu ? tf.relu(y) : y
}

const weightsOf = (m: tfl.LayersModel): Float32Array[] => m.getWeights().map((w) => Float32Array.from(w.dataSync()))

before(async () => {
  await tf.setBackend("cpu")
})

describe("BatchNorm", () => {
  for (const relu of [false, true]) {
    it(`matches the composed-ops reference in value and gradient (relu=${relu})`, () => {
      const x = tf.variable(tf.randomNormal([3, 5, 4, 6], 0.5, 2, "float32", 1))
      const upstream = tf.randomNormal([3, 5, 4, 6], 0, 1, "float32", 2)
      const layer = new BatchNorm({ relu })
      layer.build([3, 5, 4, 6])
      const gamma = tf.randomUniform([6], 0.5, 1.5, "float32", 3)
      const beta = tf.randomNormal([6], 0, 0.3, "float32", 4)
      layer.setWeights([gamma, beta, tf.zeros([6]), tf.ones([6])])
      const [gVar, bVar] = layer.trainableWeights.map((w) => w.read() as tf.Variable)
      const ours = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, upstream)) as tf.Scalar,
        [x, gVar, bVar]
      )
      const ref = tf.grads((xx, gg, bb) => tf.sum(tf.mul(referenceBatchNorm(xx, gg, bb, relu), upstream)))([x, gamma, beta])
      assert.ok(
        Math.abs(ours.value.dataSync()[0] - tf.sum(tf.mul(referenceBatchNorm(x, gamma, beta, relu), upstream)).dataSync()[0]) < 1e-3
      )
      assert.ok(maxAbsDiff(ours.grads[x.name], ref[0]) < 1e-4, "dx")
      assert.ok(maxAbsDiff(ours.grads[gVar.name], ref[1]) < 1e-3, "dgamma")
      assert.ok(maxAbsDiff(ours.grads[bVar.name], ref[2]) < 1e-3, "dbeta")
      const stats = layer.recorded.at(-1)!
      const { mean, variance } = tf.moments(x, [0, 1, 2])
      assert.ok(maxAbsDiff(tf.tensor1d(stats.mean), mean) < 1e-5)
      assert.ok(maxAbsDiff(tf.tensor1d(stats.variance), variance) < 1e-4)
    })
  }

  it("uses the moving statistics at inference and updates them with momentum", () => {
    const layer = new BatchNorm({ momentum: 0.75 })
    layer.build([null, 2])
    layer.updateMovingStatistics(Float32Array.of(4, -4), Float32Array.of(5, 9))
    const [, , mm, mv] = layer.getWeights()
    assert.deepEqual(Array.from(mm.dataSync()), [1, -1])
    assert.deepEqual(Array.from(mv.dataSync()), [2, 3])
    const y = layer.apply(tf.tensor2d([[1, -1]]), { training: false }) as tf.Tensor
    assert.ok(maxAbsDiff(y, tf.tensor2d([[0, 0]])) < 1e-6)
  })
})

describe("model zoo", () => {
  it("ref-resnet: stage resolutions 1, 1/2, 1/4, 1/8 and a 128·width embedding", () => {
    const m = buildEncoder(spec({ width: 0.5 }))
    const shapes = [1, 2, 3, 4].map((s) => m.getLayer(`${encoderPrefix}stage${s}`).outputShape)
    assert.deepEqual(shapes, [
      [null, 16, 16, 8],
      [null, 8, 8, 16],
      [null, 4, 4, 32],
      [null, 2, 2, 64]
    ])
    assert.deepEqual(m.outputs[0].shape, [null, 64])
    const deeper = buildEncoder(spec({ depth: 2 }))
    assert.ok(deeper.layers.length > m.layers.length + 8)
  })

  it("the same seed gives identical weights, another seed different ones", () => {
    const a = weightsOf(buildEncoder(spec({ seed: 7 })))
    const b = weightsOf(buildEncoder(spec({ seed: 7 })))
    const c = weightsOf(buildEncoder(spec({ seed: 8 })))
    assert.deepEqual(a, b)
    assert.notDeepEqual(a, c)
  })

  it("score head: the slice score is the mean of the score map", () => {
    const m = buildScoreModel(spec())
    const x = tf.randomNormal([2, 16, 16, 1], 0, 1, "float32", 5)
    const score = m.predict(x) as tf.Tensor
    const map = scoreMapModel(m).predict(x) as tf.Tensor
    assert.deepEqual(score.shape, [2, 1])
    assert.deepEqual(map.shape, [2, 2, 2, 1])
    assert.ok(maxAbsDiff(score, tf.mean(map, [1, 2])) < 1e-5)
  })

  it("withPooledFeatures: the head output, then the spatial mean of the last encoder stage", () => {
    for (const m of [buildScoreModel(spec()), buildProjectionModel(spec(), 8)]) {
      const x = tf.randomNormal([2, 16, 16, 1], 0, 1, "float32", 6)
      const joined = withPooledFeatures(m).predict(x) as tf.Tensor
      const head = m.predict(x) as tf.Tensor
      const stage4 = tfl
        .model({ inputs: m.inputs, outputs: m.getLayer(`${encoderPrefix}stage4`).output as tfl.SymbolicTensor })
        .predict(x) as tf.Tensor
      const heads = head.shape[1]!
      assert.deepEqual(joined.shape, [2, heads + stage4.shape[3]!])
      assert.ok(maxAbsDiff(tf.slice(joined, [0, 0], [2, heads]), head) < 1e-6)
      assert.ok(maxAbsDiff(tf.slice(joined, [0, heads], [2, -1]), tf.mean(stage4, [1, 2])) < 1e-5)
    }
  })

  it("projection head gives 256-d embeddings through a BatchNorm", () => {
    const m = buildProjectionModel(spec())
    assert.deepEqual(m.outputs[0].shape, [null, 256])
    assert.ok(batchNormLayers(m).some((l) => l.name === "proj_bn"))
  })

  for (const upsample of ["transpose", "nearest"] as const) {
    for (const skip of ["add", "concat"] as const) {
      it(`U-Net (${upsample}, ${skip}) gives full-resolution logits and contains every encoder layer`, () => {
        const enc = buildEncoder(spec())
        const unet = buildUNet({ encoder: spec(), numClasses: 3, upsample, skip })
        const y = unet.predict(tf.zeros([1, 16, 16, 1])) as tf.Tensor
        assert.deepEqual(y.shape, [1, 16, 16, 3])
        const unetNames = new Set(unet.layers.map((l) => l.name))
        for (const l of enc.layers) assert.ok(unetNames.has(l.name) || l.name === `${encoderPrefix}pool`, l.name)
      })
    }
  }
})

describe("convFlops", () => {
  it("counts 2·MAC per conv from layer shapes, without dx for the layer reading the input", async () => {
    const { convFlops } = await import("./flops.ts")
    const m = buildEncoder(spec({ width: 1, inputSize: 8 }))
    const f = convFlops(m, 2)
    // stem 1→16 at 8², stage 1: two 16→16 at 8²; stage 2: 16→32 s2 + 32→32 at 4² + 1×1 projection; …
    const conv = (h: number, k: number, ci: number, co: number) => 2 * 2 * h * h * k * k * ci * co
    const expected =
      conv(8, 3, 1, 16) +
      2 * conv(8, 3, 16, 16) +
      conv(4, 3, 16, 32) +
      conv(4, 3, 32, 32) +
      conv(4, 1, 16, 32) +
      conv(2, 3, 32, 64) +
      conv(2, 3, 64, 64) +
      conv(2, 1, 32, 64) +
      conv(1, 3, 64, 128) +
      conv(1, 3, 128, 128) +
      conv(1, 1, 64, 128)
    assert.equal(f.forward, expected)
    assert.equal(f.total, 3 * expected - conv(8, 3, 1, 16))
  })
})
