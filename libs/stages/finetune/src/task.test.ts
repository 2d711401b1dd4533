import assert from "node:assert/strict"
import { join } from "node:path"
import { test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import { buildScoreModel, defaultEncoderSpec, initBackendAsync, loadCheckpoint, makeTrainer, saveCheckpoint } from "@tomoprior/compute"
import { tempDir } from "@tomoprior/testkit"
import { segmentationLoss } from "./loss.ts"
import type { SegmentationTaskConfig } from "./task.ts"

test("segmentation loss: CE + (1 − soft Dice over present classes), hand-computed on one pixel", async () => {
  await initBackendAsync({ backend: "wasm" }, { log: () => {} })
  // logits (0, 0): p = (.5, .5), truth class 0 -> CE = ln 2
  // Dice class 0: (2·.5 + 1) / (.5 + 1 + 1) = 0.8; class 1 is absent from the truth: not averaged
  const loss = segmentationLoss(tf.zeros([1, 1, 1, 2]) as tf.Tensor4D, tf.tensor4d([1, 0], [1, 1, 1, 2]))
  const expected = Math.log(2) + 1 - 0.8
  assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-5, `${loss.dataSync()[0]} vs ${expected}`)
  loss.dispose()
})

const stemKernel = (dir: string) =>
  Effect.runPromise(
    Effect.map(loadCheckpoint(dir), ({ model }) => {
      const w = Array.from(model.getLayer("enc_stem_conv").getWeights()[0].dataSync())
      model.dispose()
      return w
    })
  )

test("the task starts from the encoder, keeps it frozen for the first steps, then learns", async () => {
  await initBackendAsync({ backend: "wasm" }, { log: () => {} })
  const dir = tempDir()
  const encoderDir = join(dir, "encoder")
  const encoder = buildScoreModel({ ...defaultEncoderSpec, width: 0.25, inputSize: 16, seed: 9 })
  await Effect.runPromise(
    saveCheckpoint(encoder, encoderDir, {
      architecture: "ref-resnet",
      width: 0.25,
      depth: 1,
      inputSize: 16,
      method: "sorting",
      backend: "wasm",
      steps: 0
    })
  )
  encoder.dispose()
  const pretrained = await stemKernel(encoderDir)

  // 4 slices: a bright square labeled 1 on a dark background
  const inputs = new Float32Array(4 * 256)
  const targets = new Float32Array(4 * 256 * 2)
  for (let i = 0; i < 4 * 256; i++) {
    const inside = i % 16 >= 4 && i % 16 < 10 && Math.floor(i / 16) % 16 >= 4 && Math.floor(i / 16) % 16 < 10
    inputs[i] = inside ? 0.9 : 0.1
    targets[i * 2 + (inside ? 1 : 0)] = 1
  }
  const config: SegmentationTaskConfig = {
    width: 0.25,
    depth: 1,
    inputSize: 16,
    numClasses: 2,
    encoderCheckpoint: encoderDir,
    freezeEncoderSteps: 3
  }
  const losses: number[] = []
  await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const trainer = yield* makeTrainer({
          task: { module: new URL("./task.ts", import.meta.url), config },
          compute: { backend: "wasm", threads: 1 },
          partitions: 2,
          optimizer: { lr: 1e-2 },
          seed: 1
        })
        const batch = { inputs, shape: [4, 16, 16, 1] as const, targets: { data: targets, shape: [4, 16, 16, 2] } }
        for (let s = 0; s < 3; s++) losses.push((yield* trainer.step(batch)).loss)
        yield* trainer.save(join(dir, "frozen"), { architecture: "ref-resnet-unet", width: 0.25, inputSize: 16, method: "finetune" })
        for (let s = 0; s < 12; s++) losses.push((yield* trainer.step(batch)).loss)
        yield* trainer.save(join(dir, "trained"), { architecture: "ref-resnet-unet", width: 0.25, inputSize: 16, method: "finetune" })
      })
    )
  )
  assert.deepEqual(await stemKernel(join(dir, "frozen")), pretrained)
  assert.notDeepEqual(await stemKernel(join(dir, "trained")), pretrained)
  assert.ok(losses[losses.length - 1] < losses[0] * 0.8, `loss ${losses[0]} -> ${losses[losses.length - 1]}`)
})
