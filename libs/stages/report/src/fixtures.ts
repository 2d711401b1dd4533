/** Small hand-made result artifacts for the report's tests (unit and headless-browser). */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { PNG } from "pngjs"
import type { EncoderIndex, LocalizationIndex, MetricsIndex, SegmenterIndex } from "@tomoprior/core"
import { artifactFromDir, tempDir } from "@tomoprior/testkit"

const writeIndex = (kind: string, index: unknown): string => {
  const dir = tempDir(`tomoprior-report-${kind}-`)
  writeFileSync(join(dir, "index.json"), JSON.stringify(index))
  return dir
}

const encoder = (method: string): EncoderIndex => ({
  kind: "Encoder",
  method,
  architecture: "ref-resnet",
  width: 8,
  inputSize: 32,
  model: "model/model.json",
  steps: 30,
  history: [0, 10, 20, 30].map((step, i) => ({ epoch: i, step, loss: 1 / (i + 1), metrics: {} })),
  final: { spearman: 0.9 },
  settings: {}
})

const segmenter = (pretraining: string, seed: number): SegmenterIndex => ({
  kind: "Segmenter",
  pretraining,
  architecture: "unet",
  inputSize: 32,
  numClasses: 3,
  labelNames: { "0": "background", "1": "lungs", "2": "heart" },
  model: "model/model.json",
  fraction: 0.1,
  everyK: null,
  seed,
  trainingSlices: [],
  trainVolumes: ["a"],
  heldOutVolumes: ["b"],
  history: [1, 2, 3].map((step) => ({ epoch: 0, step, loss: 2 / step, metrics: {} }))
})

/** Sorting at 10 %: lungs IoU 0.5/0.7 and heart 0.3/0.5 → per-seed foreground means 0.4 and 0.6. */
const metrics = (): MetricsIndex => ({
  kind: "Metrics",
  rows: [],
  csv: "metrics.csv",
  summary: [
    { pretraining: "sorting", fraction: 0.1, everyK: null, split: "extrapolation", classId: null, className: "foreground mean", seeds: 2, iouMean: 0.5, iouStd: 0.1414, diceMean: 0.6, diceStd: 0.1 },
    { pretraining: "none", fraction: 0.1, everyK: null, split: "extrapolation", classId: null, className: "foreground mean", seeds: 2, iouMean: 0.423, iouStd: 0.05, diceMean: 0.5, diceStd: 0.1 },
    { pretraining: "sorting", fraction: 1, everyK: null, split: "extrapolation", classId: null, className: "foreground mean", seeds: 2, iouMean: 0.81, iouStd: 0.02, diceMean: 0.9, diceStd: 0.01 },
    { pretraining: "sorting", fraction: 0.1, everyK: null, split: "extrapolation", classId: 1, className: "lungs", seeds: 2, iouMean: 0.6, iouStd: 0.1414, diceMean: 0.7, diceStd: 0.1 }
  ],
  examples: [{ pretraining: "sorting", fraction: 0.1, everyK: null, seed: 1, split: "extrapolation", volume: "b", slice: 4, png: "examples/0.png" }]
})

const localization = (): LocalizationIndex => ({
  kind: "Localization",
  method: "sorting",
  volumes: [
    { id: "a", spearman: 0.95, scores: [0, 1, 2, 3, 4, 5] },
    { id: "b", spearman: 0.9, scores: [0, 0.5, 2, 2.5, 4, 6] }
  ],
  organs: [
    { labelId: 1, name: "lungs", reference: "a", query: "b", truth: [1, 3], predicted: [1, 3], iou: 1, proportional: [2, 4], proportionalIou: 0.5 },
    { labelId: 1, name: "lungs", reference: "b", query: "a", truth: [1, 3], predicted: [2, 3], iou: 0.5, proportional: [1, 3], proportionalIou: 1 }
  ],
  partialScans: [{ volume: "b", reference: "a", trueOffset: 2, predictedOffset: 3, errorSlices: 1 }]
})

const examplePng = (): Buffer => {
  const png = new PNG({ width: 6, height: 2 })
  for (let i = 0; i < png.data.length; i += 4) png.data.set([200, 40, 40, 255], i)
  return PNG.sync.write(png)
}

/** Input artifacts for the report stage: two encoders, two segmenters, one Metrics, one Localization. */
export const reportFixtures = () => {
  const metricsDir = writeIndex("metrics", metrics())
  mkdirSync(join(metricsDir, "examples"))
  writeFileSync(join(metricsDir, "examples", "0.png"), examplePng())
  return {
    encoders: [artifactFromDir("Encoder", writeIndex("enc", encoder("sorting")), "pretrain"), artifactFromDir("Encoder", writeIndex("enc", encoder("simclr")), "simclr")],
    segmenters: [artifactFromDir("Segmenter", writeIndex("seg", segmenter("sorting", 1)), "finetune"), artifactFromDir("Segmenter", writeIndex("seg", segmenter("none", 1)), "baseline")],
    metrics: [artifactFromDir("Metrics", metricsDir, "evaluate")],
    localizations: [artifactFromDir("Localization", writeIndex("loc", localization()), "localize")]
  }
}
