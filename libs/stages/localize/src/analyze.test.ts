import assert from "node:assert/strict"
import { test } from "node:test"
import { makeRng, type Rng } from "@tomoprior/augment"
import { analyze, firstPrincipalComponent, organIntervals, type ScoredVolume } from "./analyze.ts"

test("organ intervals come from per-slice label presence", () => {
  const m = organIntervals(
    new Map([
      [1, [false, true, true, false]],
      [2, [false, false, false, false]]
    ])
  )
  assert.deepEqual([...m], [[1, [1, 2]]])
})

test("analysis: ideal scores localize exactly where proportional placement fails", () => {
  // Two specimens whose anatomy sits at different relative positions: score = anatomical position.
  // a: 20 slices, anatomy 0..19; organ at anatomy 8..11 -> slices 8..11
  // b: 30 slices covering anatomy 5..34 (shifted by 5); organ at slices 3..6
  const a = { id: "a", scores: Array.from({ length: 20 }, (_, i) => i), organs: new Map([[1, [8, 11] as const]]) }
  const b = { id: "b", scores: Array.from({ length: 30 }, (_, i) => i + 5), organs: new Map([[1, [3, 6] as const]]) }
  const r = analyze([a, b], {
    method: "sorting",
    labelNames: { "1": "heart" },
    partialLength: 0.3,
    seed: 1,
    smoothing: "none",
    maxReferences: 20
  })
  assert.deepEqual(
    r.volumes.map((v) => v.spearman),
    [1, 1]
  )
  const bFromA = r.organs.find((o) => o.reference === "a" && o.query === "b")!
  assert.equal(bFromA.name, "heart")
  assert.deepEqual(bFromA.predicted, [3, 6])
  assert.equal(bFromA.iou, 1)
  // proportional: [8, 11] of 20 -> [12, 17] of 30, disjoint from the truth
  assert.deepEqual(bFromA.proportional, [12, 17])
  assert.equal(bFromA.proportionalIou, 0)
  // one organ gives two landmarks (its ends) -> a's slice z is b's slice z − 5; blocks found
  // exactly (a block of a starting before slice 5 lies partly outside b and is skipped)
  assert.ok(r.partialScans.length >= 1)
  for (const p of r.partialScans) assert.equal(p.errorSlices, 0, JSON.stringify(p))
})

test("the first principal component is oriented to rise along the first volume", () => {
  // embeddings move along (1, -1) with position; descending first coordinate would flip the sign
  const vol = (n: number, dir: number) => Array.from({ length: n }, (_, i) => Float32Array.from([-dir * i, dir * i, 0.5]))
  const [s1, s2] = firstPrincipalComponent([vol(5, 1), vol(4, 1)])
  for (let i = 1; i < s1.length; i++) assert.ok(s1[i] > s1[i - 1])
  for (let i = 1; i < s2.length; i++) assert.ok(s2[i] > s2[i - 1])
  const [flipped] = firstPrincipalComponent([vol(5, -1)])
  for (let i = 1; i < flipped.length; i++) assert.ok(flipped[i] > flipped[i - 1])
})

test("isotonic smoothing keeps a noisy organ range in one piece", () => {
  // reference organ [4, 6] -> score range [4, 6]; the query's score dips back into the range later
  const ref = { id: "r", scores: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], organs: new Map([[1, [4, 6] as const]]) }
  const query = { id: "q", scores: [0, 1, 2, 3, 4, 5, 6, 7, 5, 9], organs: new Map([[1, [4, 6] as const]]) }
  const opts = { method: "sorting", labelNames: {}, partialLength: 0.3, seed: 1, maxReferences: 20 }
  const raw = analyze([ref, query], { ...opts, smoothing: "none" }).organs.find((o) => o.query === "q")!
  const smooth = analyze([ref, query], { ...opts, smoothing: "isotonic" }).organs.find((o) => o.query === "q")!
  assert.deepEqual(raw.predicted, [4, 6])
  // fit: 7 and 5 pool to 6 -> slices 4..8 lie in [4, 6]
  assert.deepEqual(smooth.predicted, [4, 8])
})

/**
 * Synthetic scans of one body plan: each covers levels [t0, t1] (start U(0, 0.35), end U(0.65, 1), as
 * the phantom) in 40–70 slices; `describe` gives a slice's score and embedding from its level. Truth
 * comes from the levels directly: a slice belongs to an organ when its level lies in the organ's span.
 */
const population = (seed: number, describe: (t: number, rng: Rng) => { score: number; features?: Array<number> }) => {
  const rng = makeRng(seed)
  const plan = { 1: [0.45, 0.75], 2: [0.1, 0.5], 3: [-0.1, 1.1] } as const
  return Array.from({ length: 14 }, (_, i) => {
    const t0 = rng.uniform(0, 0.35)
    const t1 = rng.uniform(0.65, 1)
    const n = 40 + rng.int(31)
    const levels = Array.from({ length: n }, (_, z) => t0 + ((z + 0.5) / n) * (t1 - t0))
    const organs = new Map(
      Object.entries(plan).flatMap(([label, [a, b]]) => {
        const jitter = rng.uniform(-0.02, 0.02)
        const inside = levels.map((t) => t >= a + jitter && t <= b + jitter)
        const first = inside.indexOf(true)
        return first < 0 ? [] : [[Number(label), [first, inside.lastIndexOf(true)] as const] as const]
      })
    )
    const slices = levels.map((t) => describe(t, rng))
    const features = slices.every((s) => s.features) ? slices.map((s) => s.features!) : undefined
    return { id: `s${i}`, scores: slices.map((s) => s.score), organs, ...(features ? { features } : {}) }
  })
}

const summaryOf = (volumes: ReadonlyArray<ScoredVolume>, maxReferences = 20) => {
  const r = analyze(volumes, {
    method: "sorting",
    labelNames: { "1": "heart", "2": "liver", "3": "body" },
    partialLength: 0.3,
    seed: 1,
    smoothing: "isotonic",
    maxReferences
  })
  return {
    r,
    row: (labelId: number | null, localizer: string) => r.summary!.find((s) => s.labelId === labelId && s.localizer === localizer)!
  }
}

test("many references and score alignment beat proportional placement on scans of random extent", () => {
  // scores: a monotone, non-linear function of the level plus noise
  const { r, row } = summaryOf(population(11, (t, rng) => ({ score: Math.tanh(4 * (t - 0.45)) + 0.3 * t + 0.03 * rng.normal() })))
  assert.equal(r.alignedOn, "scores")
  // one leave-one-out case per (organ, scan)
  assert.equal(r.multiReference!.length, 3 * 14)
  assert.ok(r.multiReference!.every((m) => m.references === 13))
  assert.equal(row(3, "aligned").wholeBody, true)
  assert.equal(row(1, "aligned").wholeBody, false)
  for (const localizer of ["aligned", "proportional-median", "score-range", "proportional"]) {
    // the headline is the mean of the two organs that are not whole-body, recomputed from the rows
    const organs = [1, 2].map((l) => row(l, localizer).meanIoU)
    assert.ok(Math.abs(row(null, localizer).meanIoU - (organs[0] + organs[1]) / 2) < 1e-12)
  }
  const aligned = row(null, "aligned").meanIoU
  for (const baseline of ["proportional-median", "proportional"]) {
    assert.ok(aligned > row(null, baseline).meanIoU + 0.1, `aligned ${aligned} vs ${baseline} ${row(null, baseline).meanIoU}`)
  }
  // the single-reference score range shares the calibration here (noise only), so the margin is smaller
  assert.ok(aligned > row(null, "score-range").meanIoU + 0.03, `aligned ${aligned} vs score-range ${row(null, "score-range").meanIoU}`)
  assert.ok(aligned > 0.85, `aligned ${aligned}`)
})

test("embeddings align scans where the score saturates", () => {
  // the score only rises over the lowest 30 % of the body; three embedding features keep changing above it,
  // each with a gain that differs between slices (contrast), which the unit-length descriptors ignore
  const describe = (t: number, rng: Rng) => {
    const gain = rng.uniform(0.8, 1.25)
    return {
      score: Math.min(t, 0.3) + 0.02 * rng.normal(),
      features: [Math.cos(3 * t), Math.sin(3 * t), t].map((v) => gain * v + 0.02 * rng.normal())
    }
  }
  const withEmbeddings = summaryOf(population(5, describe))
  const scoresOnly = summaryOf(population(5, describe).map(({ features: _, ...v }) => v))
  assert.equal(withEmbeddings.r.alignedOn, "embeddings")
  assert.equal(scoresOnly.r.alignedOn, "scores")
  // heart (label 1) lies wholly on the score's plateau: only embeddings place it
  const heart = withEmbeddings.row(1, "aligned").meanIoU
  assert.ok(heart > scoresOnly.row(1, "aligned").meanIoU + 0.1, `embeddings ${heart} vs scores ${scoresOnly.row(1, "aligned").meanIoU}`)
  assert.ok(heart > withEmbeddings.row(1, "proportional-median").meanIoU + 0.1)
  assert.ok(heart > 0.85, `heart ${heart}`)
})

test("each query is located from at most maxReferences volumes", () => {
  const volumes = population(2, (t) => ({ score: t }))
  const { r } = summaryOf(volumes, 4)
  // the whole-body label (3) is in every scan, so exactly 4 references each
  const body = r.multiReference!.filter((m) => m.labelId === 3)
  assert.equal(body.length, 14)
  assert.ok(body.every((m) => m.references === 4))
  assert.ok(r.multiReference!.every((m) => m.references <= 4))
})
