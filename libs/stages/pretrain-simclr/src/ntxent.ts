import * as tf from "@tensorflow/tfjs-core"

/**
 * NT-Xent (SimCLR; the authors' SupCon without labels). `embeddings` [2N, d]: rows 0..N−1 are the
 * first views, rows N..2N−1 the second views of the same slices, so the positive of anchor a is
 * a ± N. Each row is L2-normalized; the loss is the mean over all 2N anchors of
 * −log( exp(z_a·z_p/τ) / Σ_{k≠a} exp(z_a·z_k/τ) ).
 * Self-similarities are removed with a mask product, not gather, so it runs on every backend.
 */
export const ntXentLoss = (embeddings: tf.Tensor2D, temperature = 0.07): tf.Scalar => {
  const rows = embeddings.shape[0]
  if (rows % 2 !== 0) throw new RangeError(`NT-Xent needs two views per slice: got ${rows} rows`)
  const n = rows / 2
  const z = tf.div(embeddings, tf.sqrt(tf.add(tf.sum(tf.square(embeddings), 1, true), 1e-12)))
  const logits = tf.div(tf.matMul(z, z, false, true), temperature)
  const eye = tf.eye(rows)
  // −1e9 on the diagonal drops k = a from the log-sum-exp; exp underflows to exactly 0.
  const masked = tf.sub(tf.mul(logits, tf.sub(1, eye)), tf.mul(eye, 1e9))
  const positives = tf.concat([tf.concat([tf.zeros([n, n]), tf.eye(n)], 1), tf.concat([tf.eye(n), tf.zeros([n, n])], 1)], 0)
  const positiveLogit = tf.sum(tf.mul(logits, positives), 1)
  return tf.mean(tf.sub(tf.logSumExp(masked, 1), positiveLogit)) as tf.Scalar
}
