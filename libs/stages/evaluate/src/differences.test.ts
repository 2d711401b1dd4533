import { test } from "node:test"
import assert from "node:assert/strict"
import { pairedDifferences, type VolumeScore } from "./differences.ts"

const score = (pretraining: string, seed: number, volume: string, foreground: number, fraction = 0.01): VolumeScore => ({
  pretraining,
  fraction,
  everyK: null,
  split: "extrapolation",
  seed,
  volume,
  foreground
})

test("differences pair seeds and volumes: shared seed and volume effects cancel", () => {
  // IoU = seed effect + volume effect (+ 0.05 for sorting): unpaired, the spread would hide 0.05.
  const seedEffect = [0.1, 0.3, 0.2]
  const volumeEffect = { a: 0, b: 0.25 }
  const scores = seedEffect.flatMap((s, seed) =>
    Object.entries(volumeEffect).flatMap(([v, e]) => [score("sorting", seed, v, s + e + 0.05), score("none", seed, v, s + e)])
  )
  const [d] = pairedDifferences(scores)
  assert.deepEqual([d.a, d.b, d.seeds, d.volumes, d.excludesZero], ["sorting", "none", 3, 2, true])
  for (const x of [d.mean, d.low, d.high]) assert.ok(Math.abs(x - 0.05) < 1e-12, String(x))
})

test("each method against the baseline, then the other pairs in order of appearance; per budget", () => {
  const scores = ["sorting", "simclr", "none"].flatMap((m, i) =>
    [0.01, 1].flatMap((f) => [1, 2].flatMap((seed) => ["a", "b"].map((v) => score(m, seed, v, 0.1 * i + 0.01 * seed, f))))
  )
  const d = pairedDifferences(scores)
  assert.deepEqual(
    d.map((x) => `${x.a}−${x.b}@${x.fraction}`),
    ["sorting−none@0.01", "simclr−none@0.01", "sorting−simclr@0.01", "sorting−none@1", "simclr−none@1", "sorting−simclr@1"]
  )
  assert.ok(Math.abs(d[0].mean + 0.2) < 1e-12 && d[0].excludesZero)
})

test("only seeds and volumes both methods have are compared; a noisy difference includes zero", () => {
  const scores = [
    score("sorting", 1, "a", 0.5),
    score("sorting", 2, "a", 0.2),
    score("sorting", 3, "a", 0.9),
    score("none", 1, "a", 0.4),
    score("none", 2, "a", 0.4),
    score("none", 9, "a", 0.4)
  ]
  const [d] = pairedDifferences(scores, { seed: 4 })
  assert.deepEqual([d.seeds, d.volumes], [2, 1])
  assert.ok(Math.abs(d.mean - (0.1 - 0.2) / 2) < 1e-12)
  // Two seeds: each resample is both seeds' difference (0.1, −0.2) or one of them twice, 1/4 each.
  assert.ok(Math.abs(d.low + 0.2) < 1e-12 && Math.abs(d.high - 0.1) < 1e-12, `${d.low} ${d.high}`)
  assert.equal(d.excludesZero, false)
})
