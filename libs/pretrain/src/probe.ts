/**
 * Label-efficiency probes on frozen slice embeddings (plain JS, float64): how well a k-NN vote and
 * a linear classifier on the encoder's pooled features tell which organs a slice shows, each
 * trained on some volumes and scored on another (leave one volume out). They cost a few
 * milliseconds, so they run at every validation and say whether pre-training helps before any
 * fine-tuning is paid for.
 */

/** One embedded slice: its volume, its features and, per organ, whether the slice shows it. */
export interface ProbeSample {
  readonly volume: string
  readonly features: ArrayLike<number>
  readonly present: ReadonlyArray<boolean>
}

export interface ProbeResult {
  /** Balanced accuracy of a k-NN majority vote (cosine on standardized features), mean over scored organs. */
  readonly knn: number
  /** Balanced accuracy of class-balanced L2 logistic regression, mean over scored organs. */
  readonly linear: number
  /** (held-out volume, organ) pairs scored: the organ is present and absent in both the training and the held-out slices. */
  readonly cases: number
}

export interface ProbeOptions {
  /** Neighbours voting (default 5). */
  readonly k?: number
  /** L2 penalty of the logistic regression on standardized features (default 1). */
  readonly l2?: number
}

/** (TPR + TNR) / 2: 0.5 for a constant or random guess, whatever the class balance. */
export const balancedAccuracy = (truth: ReadonlyArray<boolean>, predicted: ReadonlyArray<boolean>): number => {
  let tp = 0,
    fn = 0,
    tn = 0,
    fp = 0
  truth.forEach((t, i) => {
    if (t) predicted[i] ? tp++ : fn++
    else predicted[i] ? fp++ : tn++
  })
  return (tp / (tp + fn) + tn / (tn + fp)) / 2
}

/** Per-feature mean and std of the training rows; constant features get std 1 (they carry nothing). */
const standardizer = (rows: ReadonlyArray<ArrayLike<number>>): ((x: ArrayLike<number>) => Float64Array) => {
  const f = rows[0].length
  const mean = new Float64Array(f)
  const sd = new Float64Array(f)
  for (const r of rows) for (let j = 0; j < f; j++) mean[j] += r[j] / rows.length
  for (const r of rows) for (let j = 0; j < f; j++) sd[j] += (r[j] - mean[j]) ** 2 / rows.length
  for (let j = 0; j < f; j++) sd[j] = Math.sqrt(sd[j]) || 1
  return (x) => Float64Array.from({ length: f }, (_, j) => (x[j] - mean[j]) / sd[j])
}

const unit = (v: Float64Array): Float64Array => {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1
  return v.map((x) => x / n)
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

/** Majority of the k most cosine-similar training rows (ties: absent). */
export const knnPredict = (train: ReadonlyArray<Float64Array>, labels: ReadonlyArray<boolean>, query: Float64Array, k: number): boolean => {
  const sims = train.map((t, i) => [dot(t, query), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1])
  const votes = sims.slice(0, Math.min(k, sims.length)).filter(([, i]) => labels[i]).length
  return votes > Math.min(k, sims.length) / 2
}

/** Solves A x = b for a symmetric positive definite A by Cholesky factorization. */
const solveSpd = (a: Array<Float64Array>, b: Float64Array): Float64Array => {
  const n = b.length
  const l = a.map(() => new Float64Array(n))
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i][j]
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k]
      l[i][j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j][j]
    }
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = b[i]
    for (let k = 0; k < i; k++) s -= l[i][k] * y[k]
    y[i] = s / l[i][i]
  }
  const x = new Float64Array(n)
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]
    for (let k = i + 1; k < n; k++) s -= l[k][i] * x[k]
    x[i] = s / l[i][i]
  }
  return x
}

/**
 * Logistic regression by Newton's method: classes weighted to equal total weight (so the rarer
 * one is not ignored), L2 `l2` on the weights (not the bias). Returns [w…, bias].
 */
export const fitLogistic = (x: ReadonlyArray<Float64Array>, y: ReadonlyArray<boolean>, l2: number, iterations = 25): Float64Array => {
  const f = x[0].length
  const d = f + 1
  const positives = y.filter(Boolean).length
  const weight = (t: boolean) => x.length / (2 * (t ? positives : x.length - positives))
  const w = new Float64Array(d)
  const row = (i: number) => {
    const r = new Float64Array(d)
    r.set(x[i])
    r[f] = 1
    return r
  }
  const rows = x.map((_, i) => row(i))
  for (let it = 0; it < iterations; it++) {
    const g = new Float64Array(d)
    const h = Array.from({ length: d }, () => new Float64Array(d))
    rows.forEach((r, i) => {
      const p = 1 / (1 + Math.exp(-dot(r, w)))
      const c = weight(y[i])
      const e = c * (p - (y[i] ? 1 : 0))
      const s = c * p * (1 - p)
      for (let a = 0; a < d; a++) {
        g[a] += e * r[a]
        for (let b = 0; b <= a; b++) h[a][b] += s * r[a] * r[b]
      }
    })
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < a; b++) h[b][a] = h[a][b]
      if (a < f) {
        g[a] += l2 * w[a]
        h[a][a] += l2
      } else h[a][a] += 1e-9
    }
    const step = solveSpd(h, g)
    let size = 0
    for (let a = 0; a < d; a++) {
      w[a] -= step[a]
      size = Math.max(size, Math.abs(step[a]))
    }
    if (size < 1e-8) break
  }
  return w
}

/**
 * Leave one volume out: for each volume, both probes are trained on the other volumes' slices and
 * scored on its own, per organ, wherever the organ is both present and absent on each side (else
 * balanced accuracy is undefined). Undefined when nothing could be scored (e.g. one volume).
 */
export const probeSlices = (samples: ReadonlyArray<ProbeSample>, options: ProbeOptions = {}): ProbeResult | undefined => {
  const k = options.k ?? 5
  const l2 = options.l2 ?? 1
  const volumes = [...new Set(samples.map((s) => s.volume))]
  const organs = Math.max(0, ...samples.map((s) => s.present.length))
  const knn: Array<number> = []
  const linear: Array<number> = []
  for (const held of volumes) {
    const train = samples.filter((s) => s.volume !== held)
    const test = samples.filter((s) => s.volume === held)
    if (train.length === 0) continue
    const standardize = standardizer(train.map((s) => s.features))
    const trainX = train.map((s) => standardize(s.features))
    const testX = test.map((s) => standardize(s.features))
    const trainU = trainX.map(unit)
    const testU = testX.map(unit)
    for (let o = 0; o < organs; o++) {
      const trainY = train.map((s) => s.present[o] === true)
      const testY = test.map((s) => s.present[o] === true)
      const both = (ys: ReadonlyArray<boolean>) => ys.some((v) => v) && ys.some((v) => !v)
      if (!both(trainY) || !both(testY)) continue
      knn.push(
        balancedAccuracy(
          testY,
          testU.map((q) => knnPredict(trainU, trainY, q, k))
        )
      )
      const w = fitLogistic(trainX, trainY, l2)
      const bias = w[w.length - 1]
      linear.push(
        balancedAccuracy(
          testY,
          testX.map((q) => dot(q, w) + bias > 0)
        )
      )
    }
  }
  if (knn.length === 0) return undefined
  const mean = (v: ReadonlyArray<number>) => v.reduce((s, x) => s + x, 0) / v.length
  return { knn: mean(knn), linear: mean(linear), cases: knn.length }
}
