import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { buildScoreModel, defineTask, withPooledFeatures } from "@tomoprior/compute"
import { sortingLoss } from "./losses.ts"

/** The JSON the stage hands each trainer worker. */
export const SortingTaskConfig = Schema.Struct({
  width: Schema.Number,
  depth: Schema.Number,
  inputSize: Schema.Number,
  groupSize: Schema.Number,
  loss: Schema.Literals(["hinge", "logistic", "sortnet"]),
  margin: Schema.Number,
  temperature: Schema.Number,
  steepness: Schema.Number,
  normalize: Schema.Boolean,
  partitions: Schema.Number
})
export type SortingTaskConfig = typeof SortingTaskConfig.Type

/** Per step: each group's member positions (relative, in [0, 1]), groups in batch order. */
export const SortingMeta = Schema.Struct({ targets: Schema.Array(Schema.Array(Schema.Number)) })
export type SortingMeta = typeof SortingMeta.Type

/**
 * Trainer task (runs in the compute workers): ref-resnet + per-location 1-unit score head averaged
 * to one score per slice; the loss sees every partition's scores, so pairs across partitions count.
 */
export default defineTask((config, { seed }) => {
  const c = Schema.decodeUnknownSync(SortingTaskConfig)(config)
  const model = buildScoreModel({ architecture: "ref-resnet", width: c.width, depth: c.depth, inputSize: c.inputSize, channels: 1, seed })
  const withFeatures = withPooledFeatures(model)
  return {
    model,
    // [score, pooled features…] per slice: validation reads the score, the probes the features.
    evaluate: (inputs) => withFeatures.predict(inputs) as tf.Tensor,
    forward: (inputs) => model.apply(inputs, { training: true }) as tf.Tensor,
    loss: (scores, { meta }) => {
      const { targets } = Schema.decodeUnknownSync(SortingMeta)(meta)
      return sortingLoss(c, tf.reshape(scores, [targets.length, c.groupSize]) as tf.Tensor2D, targets)
    }
  }
})
