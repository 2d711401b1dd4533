/**
 * The fine-tuning task for the compute library's data-parallel trainer: every worker builds the
 * same U-Net (same seed), copies the pre-trained encoder into it by layer name, and trains it on
 * softmax cross-entropy + soft Dice. Loaded by path inside the trainer's worker threads.
 */
import type * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { buildUNet, defaultEncoderSpec, defineTask, encoderPrefix, loadCheckpoint, transferWeights } from "@tomoprior/compute"
import { segmentationLoss } from "./loss.ts"

export const SegmentationTaskConfig = Schema.Struct({
  width: Schema.Number,
  depth: Schema.Number,
  inputSize: Schema.Number,
  numClasses: Schema.Number,
  /** Directory of the pre-trained encoder's checkpoint; null = random initialization. */
  encoderCheckpoint: Schema.NullOr(Schema.String),
  freezeEncoderSteps: Schema.Number
})
export type SegmentationTaskConfig = typeof SegmentationTaskConfig.Type

export default defineTask(async (config, { seed }) => {
  const c = Schema.decodeUnknownSync(SegmentationTaskConfig)(config)
  const model = buildUNet({
    encoder: { ...defaultEncoderSpec, width: c.width, depth: c.depth, inputSize: c.inputSize, seed },
    numClasses: c.numClasses,
    upsample: "transpose",
    skip: "add"
  })
  if (c.encoderCheckpoint !== null) {
    const path = c.encoderCheckpoint
    await Effect.runPromise(
      Effect.gen(function* () {
        const { model: source } = yield* loadCheckpoint(path)
        yield* transferWeights(source, model)
        source.dispose()
      })
    )
  }
  const encoderLayers = model.layers.filter((l) => l.name.startsWith(encoderPrefix) && l.weights.length > 0)
  return {
    model,
    forward: (inputs) => model.apply(inputs, { training: true }) as tf.Tensor,
    loss: (logits, { targets }) => {
      if (targets === undefined) throw new Error("the segmentation task needs one-hot targets")
      return segmentationLoss(logits as tf.Tensor4D, targets as tf.Tensor4D)
    },
    beforeStep: (step) => {
      const trainable = step >= c.freezeEncoderSteps
      for (const layer of encoderLayers) if (layer.trainable !== trainable) layer.trainable = trainable
    }
  }
})
