import assert from "node:assert/strict"
import { test } from "node:test"
import type { MetricRow } from "@tomoprior/core"
import { accumulate, classScores, emptyConfusion, meanStd } from "./metrics.ts"
import { FOREGROUND_MEAN, summarize, toCsv } from "./summary.ts"

test("IoU and Dice from counts accumulated over two slices (hand-computed)", () => {
  // slice A truth 0 0 1 1 / pred 0 1 1 1 ; slice B truth 1 1 2 2 / pred 1 0 2 0
  // class 0: tp 1 (A0)           fp 1 (B1)        fn 2 (A1, B3)  -> IoU 1/4, Dice 2/5
  // class 1: tp 3 (A2, A3, B0)   fp 1 (A1)        fn 1 (B1)      -> IoU 3/5, Dice 6/8
  // class 2: tp 1 (B2)           fp 0             fn 1 (B3)      -> IoU 1/2, Dice 2/3
  // class 3: absent from truth and prediction                    -> excluded
  const acc = emptyConfusion(4)
  accumulate(acc, [0, 0, 1, 1], [0, 1, 1, 1])
  accumulate(acc, [1, 1, 2, 2], [1, 0, 2, 0])
  const scores = classScores(acc)
  assert.deepEqual(
    scores.map((s) => s.classId),
    [0, 1, 2]
  )
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`)
  close(scores[0].iou, 1 / 4)
  close(scores[0].dice, 2 / 5)
  close(scores[1].iou, 3 / 5)
  close(scores[1].dice, 6 / 8)
  close(scores[2].iou, 1 / 2)
  close(scores[2].dice, 2 / 3)
})

test("pooling counts differs from averaging per-slice IoU", () => {
  // slice 1: class 1 fully right on 1 pixel; slice 2: class 1 predicted on 3 pixels, truth on 1
  const acc = emptyConfusion(2)
  accumulate(acc, [1, 0, 0, 0], [1, 0, 0, 0])
  accumulate(acc, [1, 0, 0, 0], [1, 1, 1, 0])
  // pooled: tp 2, fp 2, fn 0 -> 0.5 (per-slice mean would be (1 + 1/3) / 2)
  assert.equal(classScores(acc)[1].iou, 0.5)
})

test("a class predicted but absent from the truth scores 0, not excluded", () => {
  const acc = accumulate(emptyConfusion(2), [0, 0], [0, 1])
  assert.deepEqual(classScores(acc)[1], { classId: 1, iou: 0, dice: 0 })
})

test("mismatched sizes are rejected", () => {
  assert.throws(() => accumulate(emptyConfusion(2), [0, 1], [0]), RangeError)
})

test("meanStd uses the sample standard deviation", () => {
  // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squares 32, sample var 32/7
  const r = meanStd([2, 4, 4, 4, 5, 5, 7, 9])
  assert.equal(r.mean, 5)
  assert.ok(Math.abs(r.std - Math.sqrt(32 / 7)) < 1e-12)
  assert.deepEqual(meanStd([3]), { mean: 3, std: 0, n: 1 })
  assert.ok(Number.isNaN(meanStd([]).mean))
})

const row = (seed: number, classId: number, iou: number): MetricRow => ({
  pretraining: "sorting",
  fraction: 0.1,
  everyK: null,
  seed,
  split: "extrapolation",
  classId,
  className: `c${classId}`,
  iou,
  dice: (2 * iou) / (1 + iou)
})

test("summarize: per-class over seeds and the foreground mean of per-seed means", () => {
  const rows = [row(1, 0, 0.9), row(1, 1, 0.4), row(1, 2, 0.6), row(2, 0, 0.95), row(2, 1, 0.2), row(2, 2, 0.4)]
  const s = summarize(rows)
  const c1 = s.find((r) => r.classId === 1)!
  assert.equal(c1.seeds, 2)
  assert.ok(Math.abs(c1.iouMean - 0.3) < 1e-12)
  assert.ok(Math.abs(c1.iouStd - Math.sqrt(0.02)) < 1e-12)
  // per-seed foreground means 0.5 and 0.3 -> mean 0.4, sample std sqrt(0.02); background ignored
  const fg = s.find((r) => r.classId === null)!
  assert.equal(fg.className, FOREGROUND_MEAN)
  assert.ok(Math.abs(fg.iouMean - 0.4) < 1e-12)
  assert.ok(Math.abs(fg.iouStd - Math.sqrt(0.02)) < 1e-12)
  assert.equal(s.length, 4)
})

test("toCsv quotes fields with commas and writes empty cells for null", () => {
  const csv = toCsv([{ a: "x,y", b: null, c: 1 }], ["a", "b", "c"])
  assert.equal(csv, 'a,b,c\n"x,y",,1\n')
})
