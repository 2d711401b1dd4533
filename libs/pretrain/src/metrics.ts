/** Slice-order metrics of scores against positions (plain JS, float64). */

/** Average ranks (ties share the mean rank), 0-based. */
export const ranks = (values: ReadonlyArray<number>): Array<number> => {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0])
  const out = new Array<number>(values.length)
  for (let i = 0; i < order.length;) {
    let j = i
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++
    for (let k = i; k <= j; k++) out[order[k][1]] = (i + j) / 2
    i = j + 1
  }
  return out
}

const pearson = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  const n = a.length
  const ma = a.reduce((s, v) => s + v, 0) / n,
    mb = b.reduce((s, v) => s + v, 0) / n
  let sab = 0,
    saa = 0,
    sbb = 0
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb)
    saa += (a[i] - ma) ** 2
    sbb += (b[i] - mb) ** 2
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0
}

/** Spearman rank correlation (Pearson on average ranks); 0 when either side is constant. */
export const spearman = (scores: ReadonlyArray<number>, positions: ReadonlyArray<number>): number =>
  pearson(ranks(scores), ranks(positions))

/** Fraction of pairs with different positions whose scores are in the same (strict) order. */
export const pairsCorrect = (scores: ReadonlyArray<number>, positions: ReadonlyArray<number>): number => {
  let good = 0,
    total = 0
  for (let i = 0; i < scores.length; i++)
    for (let j = 0; j < scores.length; j++)
      if (positions[i] > positions[j]) {
        total++
        if (scores[i] > scores[j]) good++
      }
  return total ? good / total : 0
}

/** Mean |rank(score) − rank(position)| divided by the count (the authors' displacement monitor). */
export const rankDisplacement = (scores: ReadonlyArray<number>, positions: ReadonlyArray<number>): number => {
  const rs = ranks(scores),
    rp = ranks(positions)
  const n = scores.length
  return n ? rs.reduce((s, r, i) => s + Math.abs(r - rp[i]), 0) / n / n : 0
}

/** `count` evenly spaced indices over [0, depth) (all of them when depth ≤ count). */
export const evenlySpaced = (depth: number, count: number): Array<number> =>
  depth <= count
    ? Array.from({ length: depth }, (_, i) => i)
    : Array.from({ length: count }, (_, i) => Math.round((i * (depth - 1)) / (count - 1)))
