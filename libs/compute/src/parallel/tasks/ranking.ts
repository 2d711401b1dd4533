import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { defaultEncoderSpec } from "../../models/zoo.ts"
import { buildScoreModel } from "../../models/heads.ts"
import { defineTask } from "../task.ts"

const Config = Schema.Struct({
  width: Schema.Number,
  depth: Schema.Number,
  inputSize: Schema.NullOr(Schema.Number),
  margin: Schema.Number
})

const Meta = Schema.Struct({ positions: Schema.Array(Schema.Number) })

/**
 * ref-resnet + score head + pairwise hinge on slice order: mean over pairs with z_i > z_j of
 * max(0, m − (s_i − s_j)). The benchmark's training step and the trainer's test task; the
 * pretrain-sorting stage has the full-featured version.
 */
export default defineTask((config, { seed }) => {
  const c = Schema.decodeUnknownSync(Config)(config)
  const model = buildScoreModel({ ...defaultEncoderSpec, width: c.width, depth: c.depth, inputSize: c.inputSize, seed })
  return {
    model,
    forward: (inputs) => model.apply(inputs, { training: true }) as tf.Tensor,
    loss: (scores, { meta }) => {
      const { positions } = Schema.decodeUnknownSync(Meta)(meta)
      const n = positions.length
      const order = new Float32Array(n * n)
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) order[i * n + j] = positions[i] > positions[j] ? 1 : 0
      const s = tf.reshape(scores, [n, 1])
      const diff = tf.sub(s, tf.transpose(s))
      const mask = tf.tensor2d(order, [n, n])
      return tf.div(tf.sum(tf.mul(tf.relu(tf.sub(c.margin, diff)), mask)), Math.max(1, tf.sum(mask).dataSync()[0])) as tf.Scalar
    }
  }
})
