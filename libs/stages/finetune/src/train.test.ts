import assert from "node:assert/strict"
import { test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { buildUNet, defaultEncoderSpec, initBackendAsync } from "@tomoprior/compute"
import { segmentationLoss, trainSegmenter } from "./train.ts"

test("segmentation loss: CE + (1 − soft Dice), hand-computed on one pixel", async () => {
  await initBackendAsync({ backend: "wasm", threads: 1 }, { log: () => {} })
  // logits (0, 0): p = (.5, .5), truth class 0 -> CE = ln 2
  // Dice class 0: (2·.5 + 1) / (.5 + 1 + 1) = 0.8; class 1 is absent from the truth: not averaged
  const loss = segmentationLoss(tf.zeros([1, 1, 1, 2]) as tf.Tensor4D, tf.tensor4d([1, 0], [1, 1, 1, 2]))
  const expected = Math.log(2) + 1 - 0.8
  assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-5, `${loss.dataSync()[0]} vs ${expected}`)
  loss.dispose()
})

test("training lowers the loss, leaves frozen encoder weights alone and keeps the tensor count flat", async () => {
  await initBackendAsync({ backend: "wasm", threads: 1 }, { log: () => {} })
  const model = buildUNet({ encoder: { ...defaultEncoderSpec, width: 0.25, inputSize: 16, seed: 1 }, numClasses: 2, upsample: "transpose", skip: "add" })
  const labels = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([4, 16, 16], 0, 1, "float32", 5), 0.7), "int32") as tf.Tensor3D)
  const images = tf.tidy(() => tf.add(tf.mul(tf.expandDims(tf.cast(labels, "float32"), 3), 0.5), 0.2) as tf.Tensor4D)
  const stem = () => model.getLayer("enc_stem_conv").getWeights()[0].dataSync().slice()
  const before = stem()
  const counts: number[] = []
  const options = { batchSize: 4, learningRate: 1e-2, numClasses: 2, seed: 1, onStep: () => void counts.push(tf.memory().numTensors) }
  const frozen = trainSegmenter(model, { images, labels }, { ...options, steps: 3, freezeEncoderSteps: 3 })
  assert.deepEqual([...stem()], [...before])
  const losses = [...frozen, ...trainSegmenter(model, { images, labels }, { ...options, steps: 12, freezeEncoderSteps: 0 })]
  assert.notDeepEqual([...stem()], [...before])
  assert.ok(losses[losses.length - 1] < losses[0], `loss ${losses[0]} -> ${losses[losses.length - 1]}`)
  // after the optimizer's slots exist (step 1), no step leaves tensors behind
  assert.deepEqual(new Set(counts.slice(4)), new Set([counts[4]]))
  tf.dispose([images, labels])
  model.dispose()
})
