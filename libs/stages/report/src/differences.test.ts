import assert from "node:assert/strict"
import { test } from "node:test"
import { differenceText, type MetricDifference } from "@tomoprior/core"
import { differencesSection, headlineSentences } from "./differences.ts"

const diff = (
  a: string,
  b: string,
  fraction: number,
  mean: number,
  low: number,
  high: number,
  split = "extrapolation"
): MetricDifference => ({
  a,
  b,
  fraction,
  everyK: null,
  split: split as MetricDifference["split"],
  seeds: 5,
  volumes: 4,
  mean,
  low,
  high,
  level: 0.95,
  excludesZero: low > 0 || high < 0
})

const differences = [
  diff("sorting", "none", 0.01, 0.021, -0.004, 0.046),
  diff("simclr", "none", 0.01, -0.05, -0.08, -0.02),
  diff("sorting", "simclr", 0.01, 0.071, 0.03, 0.11),
  diff("sorting", "none", 1, 0.001, -0.01, 0.012),
  diff("sorting", "none", 0.01, 0.3, 0.2, 0.4, "interpolation")
]

test("the headline quotes each method against random init at the smallest budget on held-out volumes, with its interval", () => {
  assert.deepEqual(headlineSentences(differences), [
    "At 1 % of the labels, sorting − none = +2.1 IoU points on held-out volumes, 95 % CI [−0.4, +4.6] " +
      "(95 % bootstrap interval over 5 seeds × 4 volumes): not resolved, the interval includes zero.",
    "At 1 % of the labels, simclr − none = −5.0 IoU points on held-out volumes, 95 % CI [−8.0, −2.0] " +
      "(95 % bootstrap interval over 5 seeds × 4 volumes): none is better beyond the interval.",
    "At 1 % of the labels, sorting − simclr = +7.1 IoU points on held-out volumes, 95 % CI [+3.0, +11.0] " +
      "(95 % bootstrap interval over 5 seeds × 4 volumes): sorting is better beyond the interval."
  ])
  assert.equal(differenceText(differences[0]), "sorting − none: +2.1 [−0.4, +4.6]")
  assert.deepEqual(headlineSentences([differences[4]]), [])
})

test("the section draws every held-out difference with its interval and tables which exclude zero", async () => {
  const html = await differencesSection(differences)
  assert.equal(html.match(/<svg /g)?.length, 1)
  assert.match(html, /<td>sorting − none<\/td><td>1 %<\/td><td>\+2\.1<\/td><td>\[−0\.4, \+4\.6\]<\/td><td>5 × 4<\/td><td>no<\/td>/)
  assert.match(html, /<td>simclr − none<\/td><td>1 %<\/td><td>−5\.0<\/td><td>\[−8\.0, −2\.0\]<\/td><td>5 × 4<\/td><td><b>yes<\/b><\/td>/)
  assert.match(html, /<details><summary>Interpolation[^<]*<\/summary><table><caption>Paired differences — interpolation/)
  assert.equal(await differencesSection([]), "")
})
