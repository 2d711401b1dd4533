import { test } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { makeRng } from "@tomoprior/augment"
import { balancedAccuracy, fitLogistic, knnPredict, type ProbeSample, probeSlices } from "./probe.ts"

const PYTHON = "/usr/bin/python3"
const hasScipy = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import scipy, numpy"], { stdio: "ignore" }).status === 0

test("balanced accuracy averages the true-positive and true-negative rates", () => {
  // 3 positives (2 found), 5 negatives (4 rejected): (2/3 + 4/5) / 2
  const truth = [true, true, true, false, false, false, false, false]
  const predicted = [true, true, false, false, false, false, false, true]
  assert.ok(Math.abs(balancedAccuracy(truth, predicted) - (2 / 3 + 4 / 5) / 2) < 1e-12)
  assert.equal(
    balancedAccuracy(
      truth,
      truth.map(() => false)
    ),
    0.5
  )
})

test("k-NN votes by cosine similarity", () => {
  const rows = [
    [1, 0],
    [0.9, 0.1],
    [0, 1],
    [0.1, 0.9],
    [0.2, 1]
  ].map((r) => Float64Array.from(r))
  const labels = [true, true, false, false, false]
  assert.equal(knnPredict(rows, labels, Float64Array.from([1, 0.05]), 1), true)
  assert.equal(knnPredict(rows, labels, Float64Array.from([1, 0.05]), 5), false)
  assert.equal(knnPredict(rows, labels, Float64Array.from([1, 0.05]), 3), true)
})

test("class-balanced L2 logistic regression matches scipy's optimum of the same objective", { skip: !hasScipy && "scipy absent" }, () => {
  const rng = makeRng(5)
  const x = Array.from({ length: 40 }, () => Float64Array.from({ length: 3 }, () => rng.normal()))
  const y = x.map((r) => r[0] - 0.5 * r[1] + 0.8 * rng.normal() > 0.7)
  const w = fitLogistic(x, y, 0.5)
  const script = `
import json, sys, numpy as np
from scipy.optimize import minimize
d = json.load(sys.stdin); X = np.array(d["x"]); y = np.array(d["y"], float); lam = d["l2"]
c = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
Xb = np.hstack([X, np.ones((len(y), 1))])
def f(w):
    z = Xb @ w
    loss = np.sum(c * (np.logaddexp(0, z) - y * z)) + 0.5 * lam * np.sum(w[:-1] ** 2)
    p = 1 / (1 + np.exp(-z))
    g = Xb.T @ (c * (p - y)); g[:-1] += lam * w[:-1]
    return loss, g
r = minimize(f, np.zeros(Xb.shape[1]), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000})
print(json.dumps(list(r.x)))
`
  const run = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify({ x: x.map((r) => [...r]), y, l2: 0.5 }), encoding: "utf8" })
  assert.equal(run.status, 0, run.stderr)
  const reference = JSON.parse(run.stdout) as Array<number>
  reference.forEach((v, i) => assert.ok(Math.abs(v - w[i]) < 1e-5, `w[${i}] ${w[i]} vs scipy ${v}`))
})

/** Slices of several volumes whose features encode the organs they show (plus noise dimensions). */
const volumes = (informative: boolean, seed: number): Array<ProbeSample> => {
  const rng = makeRng(seed)
  return ["a", "b", "c"].flatMap((volume) =>
    Array.from({ length: 30 }, (_, z) => {
      const present = [z >= 5 && z < 15, z >= 12 && z < 25]
      const signal = informative ? present.map((p) => (p ? 2 : -2)) : [0, 0]
      return { volume, present, features: [...signal.map((s) => s + 0.3 * rng.normal()), ...Array.from({ length: 6 }, () => rng.normal())] }
    })
  )
}

test("probes are near perfect on features that encode the organs and near chance on noise; one volume scores nothing", () => {
  const good = probeSlices(volumes(true, 1))!
  assert.equal(good.cases, 6)
  assert.ok(good.knn > 0.95 && good.linear > 0.95, JSON.stringify(good))
  const noise = probeSlices(volumes(false, 2))!
  assert.ok(Math.abs(noise.knn - 0.5) < 0.15 && Math.abs(noise.linear - 0.5) < 0.15, JSON.stringify(noise))
  assert.equal(probeSlices(volumes(true, 1).filter((s) => s.volume === "a")), undefined)
})
