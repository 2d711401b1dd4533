import * as tf from "@tensorflow/tfjs-core"

/**
 * NT-Xent (SimCLR; the authors' SupCon without labels). `embeddings` [2N, d]: rows 0..N−1 are the
 * first views, rows N..2N−1 the second views of the same slices, so the positive of anchor a is
 * a ± N. Each row is L2-normalised; the loss is the mean over all 2N anchors of
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

/**
 * Top-1 view retrieval: the fraction of anchors whose most similar other row (cosine) is their own
 * second view. Plain JS on small validation batches.
 */
export const viewRetrieval = (embeddings: ReadonlyArray<ReadonlyArray<number>>): number => {
  const rows = embeddings.length, n = rows / 2
  const unit = embeddings.map((r) => {
    const norm = Math.sqrt(r.reduce((s, v) => s + v * v, 0)) || 1
    return r.map((v) => v / norm)
  })
  let hits = 0
  for (let a = 0; a < rows; a++) {
    let best = -1, bestSim = -Infinity
    for (let k = 0; k < rows; k++) {
      if (k === a) continue
      const sim = unit[a].reduce((s, v, i) => s + v * unit[k][i], 0)
      if (sim > bestSim) [best, bestSim] = [k, sim]
    }
    if (best === (a + n) % rows) hits++
  }
  return hits / rows
}

/**
 * Alignment (mean squared distance of positive pairs) and uniformity (log mean exp(−2‖z_i − z_j‖²)
 * over distinct rows) of L2-normalised embeddings (Wang & Isola 2020): lower is better for both.
 */
export const alignmentUniformity = (embeddings: ReadonlyArray<ReadonlyArray<number>>): { alignment: number; uniformity: number } => {
  const rows = embeddings.length, n = rows / 2
  const unit = embeddings.map((r) => {
    const norm = Math.sqrt(r.reduce((s, v) => s + v * v, 0)) || 1
    return r.map((v) => v / norm)
  })
  const dist2 = (a: number, b: number) => unit[a].reduce((s, v, i) => s + (v - unit[b][i]) ** 2, 0)
  let alignment = 0
  for (let a = 0; a < n; a++) alignment += dist2(a, a + n)
  let sum = 0, count = 0
  for (let a = 0; a < rows; a++)
    for (let b = a + 1; b < rows; b++) {
      sum += Math.exp(-2 * dist2(a, b))
      count++
    }
  return { alignment: alignment / n, uniformity: Math.log(sum / count) }
}
