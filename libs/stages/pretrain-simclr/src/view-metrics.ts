/** SimCLR validation figures on embeddings (plain JS, no tfjs: loaded with the stage at start-up). */

/**
 * Top-1 view retrieval: the fraction of anchors whose most similar other row (cosine) is their own
 * second view. Plain JS on small validation batches.
 */
export const viewRetrieval = (embeddings: ReadonlyArray<ReadonlyArray<number>>): number => {
  const rows = embeddings.length,
    n = rows / 2
  const unit = embeddings.map((r) => {
    const norm = Math.sqrt(r.reduce((s, v) => s + v * v, 0)) || 1
    return r.map((v) => v / norm)
  })
  let hits = 0
  for (let a = 0; a < rows; a++) {
    let best = -1,
      bestSim = -Infinity
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
 * over distinct rows) of L2-normalized embeddings (Wang & Isola 2020): lower is better for both.
 */
export const alignmentUniformity = (embeddings: ReadonlyArray<ReadonlyArray<number>>): { alignment: number; uniformity: number } => {
  const rows = embeddings.length,
    n = rows / 2
  const unit = embeddings.map((r) => {
    const norm = Math.sqrt(r.reduce((s, v) => s + v * v, 0)) || 1
    return r.map((v) => v / norm)
  })
  const dist2 = (a: number, b: number) => unit[a].reduce((s, v, i) => s + (v - unit[b][i]) ** 2, 0)
  let alignment = 0
  for (let a = 0; a < n; a++) alignment += dist2(a, a + n)
  let sum = 0,
    count = 0
  for (let a = 0; a < rows; a++)
    for (let b = a + 1; b < rows; b++) {
      sum += Math.exp(-2 * dist2(a, b))
      count++
    }
  return { alignment: alignment / n, uniformity: Math.log(sum / count) }
}
