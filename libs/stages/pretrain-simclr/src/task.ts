import * as tf from "@tensorflow/tfjs-core"
import { Schema } from "effect"
import { buildProjectionModel, defineTask, withPooledFeatures } from "@tomoprior/compute"
import { ntXentLoss } from "./ntxent.ts"

/** The JSON the stage hands each trainer worker. */
export const SimclrTaskConfig = Schema.Struct({
  width: Schema.Number,
  depth: Schema.Number,
  inputSize: Schema.Number,
  projectionDims: Schema.Number,
  temperature: Schema.Number
})
export type SimclrTaskConfig = typeof SimclrTaskConfig.Type

/**
 * Trainer task (runs in the compute workers): ref-resnet + linear projection to 256-d + BatchNorm;
 * NT-Xent over the whole batch (rows: all first views, then all second views).
 */
export default defineTask((config, { seed }) => {
  const c = Schema.decodeUnknownSync(SimclrTaskConfig)(config)
  const model = buildProjectionModel(
    { architecture: "ref-resnet", width: c.width, depth: c.depth, inputSize: c.inputSize, channels: 1, seed },
    c.projectionDims
  )
  const withFeatures = withPooledFeatures(model)
  return {
    model,
    // [projection…, pooled features…] per slice: validation reads the projection, the probes the features.
    evaluate: (inputs) => withFeatures.predict(inputs) as tf.Tensor,
    forward: (inputs) => model.apply(inputs, { training: true }) as tf.Tensor,
    loss: (embeddings) => ntXentLoss(embeddings as tf.Tensor2D, c.temperature)
  }
})
