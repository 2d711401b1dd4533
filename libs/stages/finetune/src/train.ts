/**
 * The fine-tuning task: multi-class softmax cross-entropy + soft Dice on a U-Net, Adam, with the
 * encoder optionally frozen for the first steps. Runs on whatever tfjs backend is active; this
 * module is loaded lazily by the stage (it imports tfjs at top level).
 */
import * as tf from "@tensorflow/tfjs-core"
import type * as tfl from "@tensorflow/tfjs-layers"
import { batchNormLayers, encoderPrefix } from "@tomoprior/compute"
import { makeRng } from "@tomoprior/augment"

export interface TrainingData {
  /** [n, size, size, 1] slices. */
  readonly images: tf.Tensor4D
  /** [n, size, size] class ids. */
  readonly labels: tf.Tensor3D
}

export interface TrainOptions {
  readonly batchSize: number
  readonly learningRate: number
  readonly numClasses: number
  readonly freezeEncoderSteps: number
  readonly seed: number
  readonly onStep?: (step: number, loss: number) => void
}

/**
 * Cross-entropy of softmax(logits) plus (1 − mean soft Dice), both over the whole batch. The Dice
 * mean runs over the classes present in the batch's truth: an absent class has no overlap to
 * reward, its soft Dice would only push towards exactly-zero probabilities, which CE already does.
 */
export const segmentationLoss = (logits: tf.Tensor4D, onehot: tf.Tensor4D): tf.Scalar =>
  tf.tidy(() => {
    const ce = tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar
    const p = tf.softmax(logits)
    const truth = tf.sum(onehot, [0, 1, 2])
    const inter = tf.sum(tf.mul(p, onehot), [0, 1, 2])
    const total = tf.add(tf.sum(p, [0, 1, 2]), truth)
    const dice = tf.div(tf.add(tf.mul(inter, 2), 1), tf.add(total, 1))
    const present = tf.cast(tf.greater(truth, 0), "float32")
    const meanDice = tf.div(tf.sum(tf.mul(dice, present)), tf.maximum(tf.sum(present), 1))
    return tf.add(ce, tf.sub(1, meanDice)) as tf.Scalar
  })

/** Moving BN statistics from this step's training-mode calls (the layer only records them). */
const foldBatchNormStatistics = (model: tfl.LayersModel): void => {
  for (const bn of batchNormLayers(model)) {
    const calls = bn.recorded.splice(0)
    if (calls.length === 0) continue
    const mean = new Float32Array(calls[0].mean.length)
    const variance = new Float32Array(calls[0].variance.length)
    for (const c of calls) {
      for (let i = 0; i < mean.length; i++) {
        mean[i] += c.mean[i] / calls.length
        variance[i] += c.variance[i] / calls.length
      }
    }
    bn.updateMovingStatistics(mean, variance)
  }
}

export interface SegmenterTrainer {
  /** Runs one optimisation step and returns its loss. */
  readonly step: () => number
  readonly dispose: () => void
}

/** A step-at-a-time trainer, so the caller can report progress between steps. Trains `model` in place. */
export const makeSegmenterTrainer = (model: tfl.LayersModel, data: TrainingData, options: TrainOptions): SegmenterTrainer => {
  const n = data.images.shape[0]
  const rng = makeRng(options.seed)
  const optimizer = tf.train.adam(options.learningRate)
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable)
  const encoderVariables = new Set(
    model.trainableWeights.filter((w) => w.originalName.startsWith(encoderPrefix)).map((w) => (w.read() as tf.Variable).name)
  )
  const batch = Math.min(options.batchSize, n)
  let order: Array<number> = []
  let step = 0
  return {
    step: () => {
      // epochs of a fresh seeded permutation, so every chosen slice is seen equally often
      if (order.length < batch) order = [...order, ...rng.shuffle(Array.from({ length: n }, (_, i) => i))]
      const picked = order.splice(0, batch)
      const loss = tf.tidy(() => {
        const idx = tf.tensor1d(picked, "int32")
        const x = tf.gather(data.images, idx)
        const y = tf.oneHot(tf.gather(data.labels, idx), options.numClasses).toFloat() as tf.Tensor4D
        const { value, grads } = tf.variableGrads(() => segmentationLoss(model.apply(x, { training: true }) as tf.Tensor4D, y), variables)
        // Freezing zeroes the encoder's gradients rather than shrinking the variable list: tfjs
        // optimizers keep their moments by position in that list, so the list must never change.
        // Adam's moments stay zero for the frozen weights, so they do not move.
        if (step < options.freezeEncoderSteps) {
          for (const name of encoderVariables) grads[name] = tf.zerosLike(grads[name])
        }
        optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })))
        return value
      })
      foldBatchNormStatistics(model)
      const v = loss.dataSync()[0]
      loss.dispose()
      step++
      return v
    },
    dispose: () => optimizer.dispose()
  }
}

/** Trains in place for `steps` steps; returns the loss of every step. */
export const trainSegmenter = (model: tfl.LayersModel, data: TrainingData, options: TrainOptions & { readonly steps: number }): ReadonlyArray<number> => {
  const trainer = makeSegmenterTrainer(model, data, options)
  const losses: Array<number> = []
  for (let i = 0; i < options.steps; i++) {
    losses.push(trainer.step())
    options.onStep?.(i, losses[i])
  }
  trainer.dispose()
  return losses
}
