/** Models written as Encoder and Segmenter artifacts, for tests of the stages that read them. */
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import type { EncoderIndex, SegmenterIndex } from "@tomoprior/core"
import { artifactFromDir, tempDir } from "@tomoprior/testkit"
import { initBackend } from "./backend/init.ts"
import { saveCheckpoint } from "./checkpoint/checkpoint.ts"
import { buildProjectionModel, buildScoreModel, buildUNet } from "./models/heads.ts"
import { defaultEncoderSpec } from "./models/zoo.ts"

/**
 * An untrained encoder for `size`² slices (a score model, or for `simclr` a projection model),
 * saved on wasm as an Encoder artifact.
 */
export const untrainedEncoder = (method: string, size: number) =>
  Effect.gen(function* () {
    yield* initBackend({ backend: "wasm" }, { log: () => {} })
    const dir = tempDir("tomoprior-encoder-")
    const spec = { ...defaultEncoderSpec, width: 0.25, inputSize: size, seed: 3 }
    const model = method === "simclr" ? buildProjectionModel(spec, 8) : buildScoreModel(spec)
    yield* saveCheckpoint(model, join(dir, "model"), {
      architecture: "ref-resnet",
      width: 0.25,
      depth: 1,
      inputSize: size,
      method,
      backend: "test",
      steps: 0
    })
    model.dispose()
    const index: EncoderIndex = {
      kind: "Encoder",
      method,
      architecture: "ref-resnet",
      width: 0.25,
      inputSize: size,
      model: "model",
      steps: 0,
      history: [{ epoch: 0, step: 0, loss: 1, metrics: {} }],
      final: {},
      settings: {}
    }
    writeFileSync(join(dir, "index.json"), JSON.stringify(index))
    return artifactFromDir("Encoder", dir, method)
  })

/**
 * A Segmenter artifact whose U-Net says `classId` at every pixel (its logits layer is a constant:
 * kernel zero, bias one-hot), so what an evaluation of it must find follows from the label maps
 * alone. `index` supplies the training record (volumes, slices, budget, seed).
 */
export const constantSegmenter = (
  classId: number,
  size: number,
  index: Omit<SegmenterIndex, "kind" | "architecture" | "inputSize" | "model" | "history">
) =>
  Effect.gen(function* () {
    yield* initBackend({ backend: "wasm" }, { log: () => {} })
    const dir = tempDir("tomoprior-segmenter-")
    const model = buildUNet({
      encoder: { ...defaultEncoderSpec, width: 0.25, inputSize: size, seed: 3 },
      numClasses: index.numClasses,
      upsample: "transpose",
      skip: "add"
    })
    const logits = model.getLayer("seg_logits")
    tf.tidy(() => {
      const [kernel, bias] = logits.getWeights()
      logits.setWeights([
        tf.zerosLike(kernel),
        tf
          .oneHot(tf.tensor1d([classId], "int32"), bias.shape[0])
          .reshape(bias.shape)
          .mul(5)
      ])
    })
    yield* saveCheckpoint(model, join(dir, "model"), {
      architecture: "ref-resnet-unet",
      width: 0.25,
      depth: 1,
      inputSize: size,
      method: "finetune",
      backend: "test",
      steps: 0
    })
    model.dispose()
    const full: SegmenterIndex = {
      ...index,
      kind: "Segmenter",
      architecture: "ref-resnet-unet",
      inputSize: size,
      model: "model",
      history: []
    }
    writeFileSync(join(dir, "index.json"), JSON.stringify(full))
    return artifactFromDir("Segmenter", dir, `constant-${classId}`)
  })
