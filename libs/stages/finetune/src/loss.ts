import * as tf from "@tensorflow/tfjs-core"

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
