import { before, describe, it } from "node:test"
import assert from "node:assert/strict"
import * as tf from "@tensorflow/tfjs-core"
import { makeRng } from "@tomoprior/augment"
import { hingeLoss, logisticLoss, relaxedSortMatrix, sortingLoss, type SortingLossSettings, truePermutation, zScore } from "./losses.ts"

// ---- Independent float64 references, written from the formulas (method.md §5) ----

type Groups = Array<Array<number>>

const pairMean = (s: Groups, t: Groups, f: (d: number) => number): number => {
  let sum = 0,
    count = 0
  s.forEach((g, gi) =>
    g.forEach((si, i) =>
      g.forEach((sj, j) => {
        if (t[gi][i] > t[gi][j]) {
          sum += f(si - sj)
          count++
        }
      })
    )
  )
  return count ? sum / count : 0
}
const refHinge = (s: Groups, t: Groups, m = 0.2) => pairMean(s, t, (d) => Math.max(0, m - d))
const refLogistic = (s: Groups, t: Groups, T = 1) => pairMean(s, t, (d) => Math.log1p(Math.exp(-d / T)))
const refZScore = (s: Groups, parts: number): Groups =>
  s.map((g) => {
    const size = g.length / parts
    return g.map((v, i) => {
      const chunk = g.slice(Math.floor(i / size) * size, Math.floor(i / size) * size + size)
      const mean = chunk.reduce((a, b) => a + b, 0) / size
      const variance = chunk.reduce((a, b) => a + (b - mean) ** 2, 0) / size
      return (v - mean) / Math.sqrt(variance + 1e-5)
    })
  })
/** Odd-even transposition with logistic swaps, tracking the column mix of the identity. */
const refSortMatrix = (x0: Array<number>, beta: number): Array<Array<number>> => {
  const n = x0.length
  const x = [...x0]
  const X: Array<Array<number>> = Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => (r === c ? 1 : 0)))
  for (let layer = 0; layer < n; layer++)
    for (let i = layer % 2; i + 1 < n; i += 2) {
      const a = x[i],
        b = x[i + 1]
      const alpha = 1 / (1 + Math.exp(-beta * (b - a)))
      x[i] = alpha * a + (1 - alpha) * b
      x[i + 1] = (1 - alpha) * a + alpha * b
      for (let r = 0; r < n; r++) {
        const ci = X[r][i],
          cj = X[r][i + 1]
        X[r][i] = alpha * ci + (1 - alpha) * cj
        X[r][i + 1] = (1 - alpha) * ci + alpha * cj
      }
    }
  return X
}
const refSortnet = (s: Groups, t: Groups, beta = 10) => {
  const eps = 1e-6
  let total = 0,
    count = 0
  s.forEach((g, gi) => {
    const X = refSortMatrix(g, beta)
    const order = t[gi].map((v, i) => [v, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
    const P: Array<Array<number>> = g.map(() => g.map(() => 0))
    order.forEach(([, m], k) => (P[m][k] = 1))
    X.forEach((row, m) =>
      row.forEach((v, k) => {
        const c = Math.min(1 - eps, Math.max(eps, v))
        total += -(P[m][k] * Math.log(c) + (1 - P[m][k]) * Math.log(1 - c))
        count++
      })
    )
  })
  return total / count
}

const randomGroups = (seed: number, g: number, n: number, scale = 1): Groups => {
  const r = makeRng(seed)
  return Array.from({ length: g }, () => Array.from({ length: n }, () => scale * r.normal()))
}
const shuffledTargets = (seed: number, g: number, n: number): Groups => {
  const r = makeRng(seed)
  return Array.from({ length: g }, () => r.shuffle(Array.from({ length: n }, (_, i) => i)))
}

const evalLoss = (f: (s: tf.Tensor2D) => tf.Scalar, s: Groups): number => tf.tidy(() => f(tf.tensor2d(s)).dataSync()[0])
const tfGrad = (f: (s: tf.Tensor2D) => tf.Scalar, s: Groups): Array<number> =>
  tf.tidy(() => [
    ...tf
      .grad((x: tf.Tensor) => f(x as tf.Tensor2D))(tf.tensor2d(s))
      .dataSync()
  ])
/** Central differences of the float64 reference. */
const numericGrad = (ref: (s: Groups) => number, s: Groups, h = 1e-6): Array<number> =>
  s.flatMap((g, gi) =>
    g.map((_, i) => {
      const up = s.map((r) => [...r]),
        down = s.map((r) => [...r])
      up[gi][i] += h
      down[gi][i] -= h
      return (ref(up) - ref(down)) / (2 * h)
    })
  )
const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`)
const closeAll = (a: Array<number>, b: Array<number>, tol: number, what: string) =>
  a.forEach((v, i) => close(v, b[i], tol, `${what}[${i}]`))

const settings = (over: Partial<SortingLossSettings>): SortingLossSettings => ({
  loss: "hinge",
  margin: 0.2,
  temperature: 1,
  steepness: 10,
  normalize: false,
  partitions: 1,
  ...over
})

before(async () => {
  // tfjs-core alone registers no gradients; the umbrella package does (as the compute library will).
  await import("@tensorflow/tfjs")
  await tf.setBackend("cpu")
})

describe("hinge loss", () => {
  it("hand-worked case", () => {
    // scores [0, 0.1, 0.5], targets [0, 1, 2]; pairs (1,0): 0.2−0.1 = 0.1, (2,0): 0, (2,1): 0 → mean 0.1/3.
    close(
      evalLoss((s) => hingeLoss(s, tf.tensor2d([[0, 1, 2]])), [[0, 0.1, 0.5]]),
      0.1 / 3,
      1e-6,
      "hinge"
    )
    // Equal targets (0, 1) are skipped: pairs (2,0): 0.2 + 1 and (2,1): 0.2 → mean 0.7.
    close(
      evalLoss((s) => hingeLoss(s, tf.tensor2d([[0, 0, 1]])), [[1, 0, 0]]),
      0.7,
      1e-6,
      "ties"
    )
  })
  it("matches the float64 formula and its finite-difference gradient", () => {
    const s = randomGroups(1, 3, 7),
      t = shuffledTargets(2, 3, 7)
    const f = (x: tf.Tensor2D) => hingeLoss(x, tf.tensor2d(t))
    close(evalLoss(f, s), refHinge(s, t), 1e-5, "value")
    closeAll(
      tfGrad(f, s),
      numericGrad((x) => refHinge(x, t), s),
      1e-4,
      "grad"
    )
  })
})

describe("logistic loss", () => {
  it("hand-worked case", () => {
    // One pair, s_1 − s_0 = 0 → log 2.
    close(
      evalLoss((s) => logisticLoss(s, tf.tensor2d([[0, 1]])), [[0.3, 0.3]]),
      Math.log(2),
      1e-6,
      "log2"
    )
  })
  it("matches the float64 formula and its finite-difference gradient", () => {
    const s = randomGroups(3, 2, 9),
      t = shuffledTargets(4, 2, 9)
    const f = (x: tf.Tensor2D) => logisticLoss(x, tf.tensor2d(t), 0.5)
    close(evalLoss(f, s), refLogistic(s, t, 0.5), 1e-5, "value")
    closeAll(
      tfGrad(f, s),
      numericGrad((x) => refLogistic(x, t, 0.5), s),
      1e-3,
      "grad"
    )
  })
})

describe("z-scoring", () => {
  it("standardizes each partition and keeps the gradient exact", () => {
    const s = randomGroups(5, 2, 8, 3),
      t = shuffledTargets(6, 2, 8)
    const z = tf.tidy(() => zScore(tf.tensor2d(s), 2).arraySync())
    closeAll(z.flat(), refZScore(s, 2).flat(), 1e-4, "z")
    const f = (x: tf.Tensor2D) => sortingLoss(settings({ loss: "logistic", normalize: true, partitions: 2 }), x, t)
    closeAll(
      tfGrad(f, s),
      numericGrad((x) => refLogistic(refZScore(x, 2), t), s),
      2e-3,
      "grad"
    )
    assert.throws(() => tf.tidy(() => zScore(tf.tensor2d(s), 3)), /not divisible/)
  })
})

describe("sortnet loss", () => {
  it("hand-worked case: n = 2 is one logistic swap", () => {
    // x = [a, b] = [0, 0.1], β = 10: α = σ(1) on column 0, so X = [[α, 1−α], [1−α, α]].
    const a = 1 / (1 + Math.exp(-1))
    const X = tf.tidy(() => relaxedSortMatrix(tf.tensor2d([[0, 0.1]]), 10).arraySync())
    closeAll(X.flat(2), [a, 1 - a, 1 - a, a], 1e-6, "X")
    // Targets already sorted → P = I; BCE = −(2 log α + 2 log α)/4 = −log α.
    close(
      evalLoss((s) => sortingLoss(settings({ loss: "sortnet" }), s, [[0, 1]]), [[0, 0.1]]),
      -Math.log(a),
      1e-5,
      "bce"
    )
  })
  it("relaxed matrix is doubly stochastic and sorts with a steep β", () => {
    const s = randomGroups(7, 1, 6)
    const X = tf.tidy(() => relaxedSortMatrix(tf.tensor2d(s), 1000).arraySync())[0]
    X.forEach((row) =>
      close(
        row.reduce((a, b) => a + b, 0),
        1,
        1e-5,
        "row"
      )
    )
    X[0].forEach((_, k) =>
      close(
        X.reduce((a, r) => a + r[k], 0),
        1,
        1e-5,
        "col"
      )
    )
    const sorted = X[0].map((_, k) => s[0].reduce((acc, v, m) => acc + v * X[m][k], 0))
    closeAll(
      sorted,
      [...s[0]].sort((a, b) => a - b),
      1e-3,
      "sorted"
    )
    assert.deepEqual([...truePermutation([[2, 0, 1]])], [0, 0, 1, 1, 0, 0, 0, 1, 0])
  })
  it("matches the float64 network and its finite-difference gradient", () => {
    const s = randomGroups(8, 2, 5, 0.3),
      t = shuffledTargets(9, 2, 5)
    const f = (x: tf.Tensor2D) => sortingLoss(settings({ loss: "sortnet", steepness: 4 }), x, t)
    close(evalLoss(f, s), refSortnet(s, t, 4), 1e-5, "value")
    closeAll(
      tfGrad(f, s),
      numericGrad((x) => refSortnet(x, t, 4), s),
      2e-3,
      "grad"
    )
  })
})

describe("tensor hygiene", () => {
  it("leaves no tensors behind inside tf.tidy", () => {
    const before = tf.memory().numTensors
    for (const loss of ["hinge", "logistic", "sortnet"] as const)
      tf.tidy(() => {
        tf.grad((x: tf.Tensor) => sortingLoss(settings({ loss, normalize: true }), x as tf.Tensor2D, [[0, 1, 2, 3]]))(
          tf.tensor2d([[1, 2, 0, 3]])
        )
      })
    assert.equal(tf.memory().numTensors, before)
  })
})
