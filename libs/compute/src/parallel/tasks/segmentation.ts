import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { defaultEncoderSpec } from "../../models/zoo.ts"
import { buildUNet } from "../../models/heads.ts"
import { defineTask } from "../task.ts"

const Config = Schema.Struct({
  width: Schema.Number,
  inputSize: Schema.Number,
  numClasses: Schema.Number,
  upsample: Schema.Literals(["transpose", "nearest"]),
  skip: Schema.Literals(["add", "concat"])
})

/** U-Net + softmax cross-entropy against one-hot targets [N, H, W, K]: the trainer's U-Net test task. */
export default defineTask((config, { seed }) => {
  const c = Schema.decodeUnknownSync(Config)(config)
  const model = buildUNet({
    encoder: { ...defaultEncoderSpec, width: c.width, inputSize: c.inputSize, seed },
    numClasses: c.numClasses,
    upsample: c.upsample,
    skip: c.skip
  })
  return {
    model,
    forward: (inputs) => model.apply(inputs, { training: true }) as tf.Tensor,
    loss: (logits, { targets }) => {
      if (targets === undefined) throw new Error("the segmentation task needs one-hot targets")
      return tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1))) as tf.Scalar
    }
  }
})
