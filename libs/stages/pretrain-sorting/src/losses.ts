import * as tf from "@tensorflow/tfjs-core"

/**
 * Slice-order losses on a batch of G groups of n slices: `scores` [G, n], `targets` [G, n] (the
 * slices' positions; only their order within a group matters). Pure tfjs, no gather, so the same
 * code runs and differentiates on every backend. Callers wrap them in tf.tidy.
 */

export type SortingLossName = "hinge" | "logistic" | "sortnet"

/** 1 where target_i > target_j within the same group: the pairs that must be ordered [G, n, n]. */
const orderedPairs = (targets: tf.Tensor2D): tf.Tensor3D =>
  tf.cast(tf.greater(tf.expandDims(targets, 2), tf.expandDims(targets, 1)), "float32") as tf.Tensor3D

/** s_i − s_j for every pair [G, n, n]. */
const differences = (scores: tf.Tensor2D): tf.Tensor3D => tf.sub(tf.expandDims(scores, 2), tf.expandDims(scores, 1)) as tf.Tensor3D

const meanOverPairs = (perPair: tf.Tensor3D, mask: tf.Tensor3D): tf.Scalar =>
  tf.div(tf.sum(tf.mul(perPair, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar

/** Mean over pairs with t_i > t_j of max(0, m − (s_i − s_j)); equal targets are skipped. */
export const hingeLoss = (scores: tf.Tensor2D, targets: tf.Tensor2D, margin = 0.2): tf.Scalar =>
  meanOverPairs(tf.relu(tf.sub(margin, differences(scores))) as tf.Tensor3D, orderedPairs(targets))

/** RankNet: mean over pairs with t_i > t_j of log(1 + exp(−(s_i − s_j)/T)). */
export const logisticLoss = (scores: tf.Tensor2D, targets: tf.Tensor2D, temperature = 1): tf.Scalar =>
  meanOverPairs(tf.softplus(tf.div(tf.neg(differences(scores)), temperature)) as tf.Tensor3D, orderedPairs(targets))

/**
 * Z-scores each group's scores in `partitions` consecutive chunks (BatchNorm without affine or
 * running statistics, biased variance, ε = 1e-5 — the authors' `normalize` option).
 */
export const zScore = (scores: tf.Tensor2D, partitions = 1, epsilon = 1e-5): tf.Tensor2D => {
  const [g, n] = scores.shape
  if (n % partitions !== 0) throw new RangeError(`group size ${n} is not divisible into ${partitions} partitions`)
  const chunks = tf.reshape(scores, [g, partitions, n / partitions])
  const { mean, variance } = tf.moments(chunks, 2, true)
  return tf.reshape(tf.div(tf.sub(chunks, mean), tf.sqrt(tf.add(variance, epsilon))), [g, n]) as tf.Tensor2D
}

/** Constant n×n matrix exchanging the members of each comparator (i, i+1), i ≡ offset mod 2. */
const partnerMatrix = (n: number, offset: number): { swap: tf.Tensor2D; unpaired: tf.Tensor2D } => {
  const swap = new Float32Array(n * n)
  const unpaired = new Float32Array(n).fill(1)
  for (let i = 0; i < n; i++) swap[i * n + i] = 1
  for (let i = offset; i + 1 < n; i += 2) {
    swap[i * n + i] = swap[(i + 1) * n + i + 1] = 0
    swap[i * n + i + 1] = swap[(i + 1) * n + i] = 1
    unpaired[i] = unpaired[i + 1] = 0
  }
  return { swap: tf.tensor2d(swap, [n, n]), unpaired: tf.tensor2d(unpaired, [1, n]) }
}

/**
 * Odd-even transposition network relaxed with the logistic swap (Petersen et al., diffsort): at a
 * comparator (lo, hi), α = σ(β·(x_hi − x_lo)); lo ← α·x_lo + (1−α)·x_hi, hi ← α·x_hi + (1−α)·x_lo,
 * and the same mix of columns turns the identity into a doubly stochastic matrix X with
 * sort(x) = x·X. Returns X [G, n, n]: X[m, k] ≈ P(element m lands at sorted position k).
 */
export const relaxedSortMatrix = (scores: tf.Tensor2D, steepness: number): tf.Tensor3D => {
  const [g, n] = scores.shape
  let x: tf.Tensor2D = scores
  let X: tf.Tensor2D = tf.reshape(tf.tile(tf.expandDims(tf.eye(n), 0), [g, 1, 1]), [g * n, n]) as tf.Tensor2D
  for (let layer = 0; layer < n; layer++) {
    const { swap, unpaired } = partnerMatrix(n, layer % 2)
    const partner = tf.matMul(x, swap)
    // Lower member: σ(β(partner − x)); higher member: σ(β(x − partner)) — the same α for both.
    const lowerSign = tf.tensor2d(
      Array.from({ length: n }, (_, i) => ((i - (layer % 2)) % 2 === 0 ? 1 : -1)),
      [1, n]
    )
    const soft = tf.sigmoid(tf.mul(steepness, tf.mul(lowerSign, tf.sub(partner, x))))
    const alpha = tf.add(unpaired, tf.mul(tf.sub(1, unpaired), soft)) as tf.Tensor2D
    x = tf.add(tf.mul(alpha, x), tf.mul(tf.sub(1, alpha), partner)) as tf.Tensor2D
    const alphaRows = tf.reshape(tf.tile(tf.expandDims(alpha, 1), [1, n, 1]), [g * n, n])
    X = tf.add(tf.mul(alphaRows, X), tf.mul(tf.sub(1, alphaRows), tf.matMul(X, swap))) as tf.Tensor2D
  }
  return tf.reshape(X, [g, n, n]) as tf.Tensor3D
}

/** Hard permutation sorting each group's targets ascending (stable): P[m, k] = 1 if m goes to k. */
export const truePermutation = (targets: ReadonlyArray<ReadonlyArray<number>>): Float32Array => {
  const n = targets[0]?.length ?? 0
  const out = new Float32Array(targets.length * n * n)
  targets.forEach((t, gi) => {
    const order = t.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1])
    order.forEach(([, m], k) => (out[gi * n * n + m * n + k] = 1))
  })
  return out
}

/** BCE between the relaxed permutation and the true one, averaged over all G·n² entries. */
export const sortnetLoss = (scores: tf.Tensor2D, permutation: tf.Tensor3D, steepness = 10): tf.Scalar => {
  const eps = 1e-6
  const X = tf.clipByValue(relaxedSortMatrix(scores, steepness), eps, 1 - eps)
  const bce = tf.add(tf.mul(permutation, tf.log(X)), tf.mul(tf.sub(1, permutation), tf.log(tf.sub(1, X))))
  return tf.neg(tf.mean(bce)) as tf.Scalar
}

export interface SortingLossSettings {
  readonly loss: SortingLossName
  readonly margin: number
  readonly temperature: number
  readonly steepness: number
  /** Z-score scores within each group before the loss. */
  readonly normalize: boolean
  readonly partitions: number
}

/** The configured loss on [G, n] scores; `targets` as nested arrays (the sortnet needs the true permutation). */
export const sortingLoss = (
  settings: SortingLossSettings,
  scores: tf.Tensor2D,
  targets: ReadonlyArray<ReadonlyArray<number>>
): tf.Scalar => {
  const s = settings.normalize ? zScore(scores, settings.partitions) : scores
  const [g, n] = scores.shape
  switch (settings.loss) {
    case "hinge":
      return hingeLoss(s, tf.tensor2d(targets.flat(), [g, n]), settings.margin)
    case "logistic":
      return logisticLoss(s, tf.tensor2d(targets.flat(), [g, n]), settings.temperature)
    case "sortnet":
      return sortnetLoss(s, tf.tensor3d(truePermutation(targets), [g, n, n]), settings.steepness)
  }
}
