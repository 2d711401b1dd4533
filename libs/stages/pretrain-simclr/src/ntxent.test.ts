import { before, describe, it } from "node:test"
import assert from "node:assert/strict"
import * as tf from "@tensorflow/tfjs-core"
import { makeRng } from "@tomoprior/augment"
import { ntXentLoss } from "./ntxent.ts"
import { alignmentUniformity, viewRetrieval } from "./view-metrics.ts"

/** Float64 NT-Xent written from the formula: L2-normalize, −log softmax over k ≠ a, mean over 2N anchors. */
const refNtXent = (e: Array<Array<number>>, tau: number): number => {
  const rows = e.length,
    n = rows / 2
  const z = e.map((r) => {
    const norm = Math.sqrt(r.reduce((s, v) => s + v * v, 0))
    return r.map((v) => v / norm)
  })
  const sim = (a: number, b: number) => z[a].reduce((s, v, i) => s + v * z[b][i], 0) / tau
  let total = 0
  for (let a = 0; a < rows; a++) {
    let denom = 0
    for (let k = 0; k < rows; k++) if (k !== a) denom += Math.exp(sim(a, k))
    total += -(sim(a, (a + n) % rows) - Math.log(denom))
  }
  return total / rows
}

const random = (seed: number, rows: number, d: number) => {
  const r = makeRng(seed)
  return Array.from({ length: rows }, () => Array.from({ length: d }, r.normal))
}

before(async () => {
  // tfjs-core alone registers no gradients; the umbrella package does (as the compute library will).
  await import("@tensorflow/tfjs")
  await tf.setBackend("cpu")
})

describe("NT-Xent", () => {
  it("hand-worked case: N = 1 has only the positive in the denominator", () => {
    // Two rows, k ≠ a leaves only the positive: −log(e^x / e^x) = 0 for any embeddings.
    const v = tf.tidy(
      () =>
        ntXentLoss(
          tf.tensor2d([
            [1, 0],
            [0.6, 0.8]
          ]),
          0.07
        ).dataSync()[0]
    )
    assert.ok(Math.abs(v) < 1e-5)
    // N = 2, orthogonal unit rows, positives equal: anchor sims 1/τ (positive) and 0, 0 → log(1 + 2e^{−1/τ}).
    const tau = 0.5
    const w = tf.tidy(
      () =>
        ntXentLoss(
          tf.tensor2d([
            [1, 0],
            [0, 1],
            [1, 0],
            [0, 1]
          ]),
          tau
        ).dataSync()[0]
    )
    assert.ok(Math.abs(w - Math.log(1 + 2 * Math.exp(-1 / tau))) < 1e-5, `${w}`)
  })

  it("matches the float64 formula and its finite-difference gradient", () => {
    const e = random(1, 6, 4),
      tau = 0.5
    const value = tf.tidy(() => ntXentLoss(tf.tensor2d(e), tau).dataSync()[0])
    assert.ok(Math.abs(value - refNtXent(e, tau)) < 1e-5 * Math.max(1, value))
    const grad = tf.tidy(() => [
      ...tf
        .grad((x: tf.Tensor) => ntXentLoss(x as tf.Tensor2D, tau))(tf.tensor2d(e))
        .dataSync()
    ])
    const h = 1e-6
    e.flat().forEach((_, idx) => {
      const r = Math.floor(idx / 4),
        c = idx % 4
      const up = e.map((row) => [...row]),
        down = e.map((row) => [...row])
      up[r][c] += h
      down[r][c] -= h
      const numeric = (refNtXent(up, tau) - refNtXent(down, tau)) / (2 * h)
      assert.ok(Math.abs(grad[idx] - numeric) < 2e-3 * Math.max(1, Math.abs(numeric)), `${idx}: ${grad[idx]} vs ${numeric}`)
    })
  })

  it("at τ = 0.07 stays finite and rejects an odd row count", () => {
    const v = tf.tidy(() => ntXentLoss(tf.tensor2d(random(2, 8, 16))).dataSync()[0])
    assert.ok(Number.isFinite(v) && Math.abs(v - refNtXent(random(2, 8, 16), 0.07)) < 1e-3 * v)
    assert.throws(() => tf.tidy(() => ntXentLoss(tf.tensor2d(random(3, 3, 2)))), /two views/)
  })

  it("leaves no tensors behind inside tf.tidy", () => {
    const before = tf.memory().numTensors
    tf.tidy(() => {
      tf.grad((x: tf.Tensor) => ntXentLoss(x as tf.Tensor2D))(tf.tensor2d(random(4, 4, 3)))
    })
    assert.equal(tf.memory().numTensors, before)
  })
})

describe("SimCLR validation metrics", () => {
  it("view retrieval and alignment on hand-made embeddings", () => {
    const perfect = [
      [1, 0],
      [0, 1],
      [1, 0],
      [0, 1]
    ]
    assert.equal(viewRetrieval(perfect), 1)
    assert.equal(
      viewRetrieval([
        [1, 0],
        [0, 1],
        [0, 1],
        [1, 0]
      ]),
      0
    )
    const au = alignmentUniformity(perfect)
    assert.equal(au.alignment, 0)
    // Pairs: 2 identical (d² = 0) and 4 orthogonal (d² = 2) → log((2 + 4e^{−4})/6).
    assert.ok(Math.abs(au.uniformity - Math.log((2 + 4 * Math.exp(-4)) / 6)) < 1e-12)
  })
})
