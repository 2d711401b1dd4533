/** Small hand-made result artifacts for the report's tests (unit and headless-browser). */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { PNG } from "pngjs"
import {
  type EmbeddingsIndex,
  type EncoderIndex,
  LOCALIZERS,
  type LocalizationIndex,
  type MetricsIndex,
  type SegmenterIndex
} from "@tomoprior/core"
import { artifactFromDir, tempDir } from "@tomoprior/testkit"
import type { ReportData } from "./build.ts"

const writeIndex = (kind: string, index: unknown): string => {
  const dir = tempDir(`tomoprior-report-${kind}-`)
  writeFileSync(join(dir, "index.json"), JSON.stringify(index))
  return dir
}

/** A deterministic stream in [0, 1): fixtures must not change between runs. */
const stream = (seed: number) => {
  let x = seed >>> 0 || 1
  return (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    return x / 2 ** 32
  }
}

/**
 * Loss and held-out metrics on each method's own scale, as the demo logs them: SimCLR's NT-Xent
 * around 4–6, the sorting hinge around 0.1, so a shared y axis would flatten the sorting curve.
 */
const PRETRAINING: Record<
  string,
  {
    readonly loss: readonly [number, number]
    readonly metrics: Record<string, readonly [number, number]>
    readonly settings: Record<string, unknown>
  }
> = {
  sorting: {
    loss: [0.16, 0.02],
    metrics: { spearman: [0.78, 0.97], pairsCorrect: [0.8, 0.93], rankDisplacement: [0.14, 0.05] },
    settings: { loss: "hinge", margin: 0.2 }
  },
  simclr: {
    loss: [6.5, 3.8],
    metrics: { viewTop1: [0.02, 0.04], alignment: [1.09, 0.98], uniformity: [-2.1, -2.5] },
    settings: { temperature: 0.07 }
  },
  logistic: { loss: [0.69, 0.3], metrics: { spearman: [0.5, 0.9] }, settings: { loss: "logistic" } }
}

const encoder = (method: string): EncoderIndex => {
  const shape = PRETRAINING[method] ?? { loss: [2, 1], metrics: { spearman: [0.4, 0.8] }, settings: {} }
  const noise = stream(method.length * 7919)
  const at = ([from, to]: readonly [number, number], t: number) =>
    to + (from - to) * Math.exp(-3 * t) + 0.03 * (from - to) * (noise() - 0.5)
  const history = Array.from({ length: 11 }, (_, i): EncoderIndex["history"][number] => {
    const t = i / 10
    const metrics: Record<string, number> = Object.fromEntries(Object.entries(shape.metrics).map(([k, range]) => [k, at(range, t)]))
    return { epoch: i, step: 30 * i, loss: at(shape.loss, t), metrics: { ...metrics, slicesPerSecond: 100 + 50 * noise() } }
  })
  const last = history[history.length - 1]
  return {
    kind: "Encoder",
    method,
    architecture: "ref-resnet",
    width: 8,
    inputSize: 32,
    model: "model/model.json",
    steps: 300,
    history,
    final: Object.fromEntries(Object.keys(shape.metrics).map((k) => [k, last.metrics[k]])),
    settings: shape.settings
  }
}

const segmenter = (pretraining: string, seed: number, fraction = 0.1): SegmenterIndex => ({
  kind: "Segmenter",
  pretraining,
  architecture: "unet",
  inputSize: 32,
  numClasses: 3,
  labelNames: { "0": "background", "1": "lungs", "2": "heart" },
  model: "model/model.json",
  fraction,
  everyK: null,
  seed,
  trainingSlices: [],
  trainVolumes: ["a"],
  heldOutVolumes: ["b"],
  history: [1, 2, 3].map((step) => ({ epoch: 0, step, loss: 2 / step, metrics: {} }))
})

const ORGANS = ["lungs", "heart", "liver", "spine", "lesions", "kidneys", "bladder", "stomach"]
const SEEDS = [1, 2]

/** A fine-tuning run that starts lower and ends higher with pre-training, as the demo hopes. */
const finetuneRun = (pretraining: string, seed: number, fraction: number): SegmenterIndex => {
  const head = pretraining === "none" ? 0 : 0.4
  const noise = stream(seed * 31 + Math.round(1000 * fraction) + pretraining.length)
  return {
    ...segmenter(pretraining, seed, fraction),
    history: Array.from({ length: 10 }, (_, i) => ({
      epoch: 0,
      step: 10 * (i + 1),
      loss: (2.8 - head) * Math.exp(-i / 5) + 0.4 + 0.05 * noise(),
      metrics: {}
    }))
  }
}

const summaryRow = (pretraining: string, fraction: number, split: "interpolation" | "extrapolation", iou: number) =>
  ({
    pretraining,
    fraction,
    everyK: null,
    split,
    classId: null,
    className: "foreground mean",
    seeds: SEEDS.length,
    iouMean: iou,
    iouStd: 0.04,
    diceMean: iou + 0.1,
    diceStd: 0.04
  }) as const

export const mean = (vs: ReadonlyArray<number>): number => vs.reduce((s, v) => s + v, 0) / vs.length

/**
 * What the localize stage adds to a Localization: mean IoU per organ and localizer (the pair
 * localizers' means over `organs`, the multi-reference ones given as [aligned, proportional-median]
 * by organ name) and the headline over the organs not named in `wholeBody`.
 */
const withSummary = (
  index: LocalizationIndex,
  multi: Readonly<Record<string, readonly [number, number]>>,
  wholeBody: ReadonlyArray<string>,
  alignedOn: NonNullable<LocalizationIndex["alignedOn"]> = "embeddings"
): LocalizationIndex => {
  const organs = [...new Map(index.organs.map((o) => [o.labelId, o.name])).entries()].sort((a, b) => a[0] - b[0])
  const iouOf: Record<(typeof LOCALIZERS)[number], (labelId: number, name: string) => number> = {
    aligned: (_, name) => multi[name][0],
    "proportional-median": (_, name) => multi[name][1],
    "score-range": (id) => mean(index.organs.filter((o) => o.labelId === id).map((o) => o.iou)),
    proportional: (id) => mean(index.organs.filter((o) => o.labelId === id).map((o) => o.proportionalIou))
  }
  const summary = LOCALIZERS.flatMap((localizer) => {
    const rows = organs.map(([labelId, name]) => ({
      labelId,
      name,
      wholeBody: wholeBody.includes(name),
      localizer,
      cases: 4,
      meanIoU: iouOf[localizer](labelId, name)
    }))
    const counted = rows.filter((r) => !r.wholeBody)
    const headline = {
      labelId: null,
      name: "mean over organs (whole-body labels left out)",
      wholeBody: false,
      localizer,
      cases: 4 * counted.length,
      meanIoU: mean(counted.map((r) => r.meanIoU))
    }
    return [...rows, ...(counted.length > 0 ? [headline] : [])]
  })
  return { ...index, alignedOn, summary }
}

/** Slice scores that rise with position, `organs` organs (the spine whole-body), one partial scan. */
const scoresOf = (method: string, organs: number): LocalizationIndex => {
  // a PC1 has no trained unit: its range is far from a score head's
  const scale = method.startsWith("simclr") ? 20 : 1
  const noise = stream(method.length * 104729)
  const volumes = ["v0", "v1", "v2", "v3"].map((id, v) => {
    const depth = 20 + 4 * v
    const scores = Array.from({ length: depth }, (_, i) => scale * (i / (depth - 1) + 0.3 * (noise() - 0.5)))
    return { id, spearman: 0.9, scores }
  })
  const pair = (labelId: number, name: string, iou: number, proportionalIou: number) => ({
    labelId,
    name,
    reference: "v0",
    query: "v1",
    truth: [4, 9] as const,
    predicted: [4, 9] as const,
    iou,
    proportional: [5, 10] as const,
    proportionalIou
  })
  const names = ORGANS.slice(0, organs)
  const index: LocalizationIndex = {
    kind: "Localization",
    method,
    volumes,
    organs: names.map((name, i) => pair(i + 1, name, 0.8 - 0.05 * i, 0.7)),
    partialScans: [{ volume: "v1", reference: "v0", trueOffset: 2, predictedOffset: 3, errorSlices: 1 }]
  }
  const multi = Object.fromEntries(names.map((name) => [name, [0.5 + 0.4 * noise(), 0.4 + 0.4 * noise()] as const]))
  return withSummary(
    index,
    multi,
    names.filter((n) => n === "spine")
  )
}

/**
 * A demo-shaped report over the given methods, in the given order: encoders, localizations and
 * fine-tuning runs for each (no encoder or localization for "none"), IoU summaries for every
 * method × fraction. For the palette and layout tests: `methods` varies subset and order, `shape`
 * the number of label fractions and organs (more of them make wider charts).
 */
export const demoLikeReport = (
  methods: ReadonlyArray<string>,
  shape: { readonly fractions?: ReadonlyArray<number>; readonly organs?: number } = {}
): ReportData => {
  const fractions = shape.fractions ?? [0.01, 0.1, 1]
  const pretrained = methods.filter((m) => m !== "none")
  return {
    title: `demo-like report: ${methods.join(", ")}`,
    encoders: pretrained.map((m) => ({ producer: `pretrain-${m}`, index: encoder(m) })),
    segmenters: methods.flatMap((m) =>
      fractions.flatMap((f) => SEEDS.map((seed) => ({ producer: `ft-${m}`, index: finetuneRun(m, seed, f) })))
    ),
    metrics: [
      {
        producer: "evaluate",
        index: {
          kind: "Metrics",
          rows: [],
          csv: "metrics.csv",
          summary: methods.flatMap((m, i) =>
            fractions.flatMap((f) => {
              const iou = 0.3 + (0.3 * Math.log10(100 * f)) / 2 + (m === "none" ? 0 : 0.05 + 0.01 * i)
              return [summaryRow(m, f, "extrapolation", iou), summaryRow(m, f, "interpolation", iou + 0.05)]
            })
          )
        }
      }
    ],
    localizations: pretrained.map((m) => {
      const method = m === "simclr" ? "simclr (PC1 of embeddings)" : m
      return { producer: `loc-${m}`, index: scoresOf(method, shape.organs ?? 2) }
    }),
    images: new Map()
  }
}

/** Sorting at 10 %: lungs IoU 0.5/0.7 and heart 0.3/0.5 → per-seed foreground means 0.4 and 0.6. */
const metrics = (): MetricsIndex => ({
  kind: "Metrics",
  rows: [],
  csv: "metrics.csv",
  summary: [
    {
      pretraining: "sorting",
      fraction: 0.1,
      everyK: null,
      split: "extrapolation",
      classId: null,
      className: "foreground mean",
      seeds: 2,
      iouMean: 0.5,
      iouStd: 0.1414,
      diceMean: 0.6,
      diceStd: 0.1
    },
    {
      pretraining: "none",
      fraction: 0.1,
      everyK: null,
      split: "extrapolation",
      classId: null,
      className: "foreground mean",
      seeds: 2,
      iouMean: 0.423,
      iouStd: 0.05,
      diceMean: 0.5,
      diceStd: 0.1
    },
    {
      pretraining: "sorting",
      fraction: 1,
      everyK: null,
      split: "extrapolation",
      classId: null,
      className: "foreground mean",
      seeds: 2,
      iouMean: 0.81,
      iouStd: 0.02,
      diceMean: 0.9,
      diceStd: 0.01
    },
    {
      pretraining: "sorting",
      fraction: 0.1,
      everyK: null,
      split: "extrapolation",
      classId: 1,
      className: "lungs",
      seeds: 2,
      iouMean: 0.6,
      iouStd: 0.1414,
      diceMean: 0.7,
      diceStd: 0.1
    }
  ],
  examples: [
    { pretraining: "sorting", fraction: 0.1, everyK: null, seed: 1, split: "extrapolation", volume: "b", slice: 4, png: "examples/0.png" }
  ]
})

/** A Localization as written before the multi-reference localizers: pairs only, no summary. */
export const pairOnlyLocalization = (): LocalizationIndex => ({
  kind: "Localization",
  method: "simclr (PC1 of embeddings)",
  volumes: [
    { id: "a", spearman: 0.95, scores: [0, 1, 2, 3, 4, 5] },
    { id: "b", spearman: 0.9, scores: [0, 0.5, 2, 2.5, 4, 6] }
  ],
  organs: [
    {
      labelId: 1,
      name: "lungs",
      reference: "a",
      query: "b",
      truth: [1, 3],
      predicted: [1, 3],
      iou: 1,
      proportional: [2, 4],
      proportionalIou: 0.5
    },
    {
      labelId: 1,
      name: "lungs",
      reference: "b",
      query: "a",
      truth: [1, 3],
      predicted: [2, 3],
      iou: 0.5,
      proportional: [1, 3],
      proportionalIou: 1
    }
  ],
  partialScans: [{ volume: "b", reference: "a", trueOffset: 2, predictedOffset: 3, errorSlices: 1 }]
})

/**
 * The current shape: pairs and a summary over lungs, heart and the whole-body spine. Aligned wins
 * lungs, score-range wins heart (so the highlight moves between encoder-based columns).
 */
export const summarizedLocalization = (): LocalizationIndex => {
  const pair = (labelId: number, name: string, reference: string, query: string, iou: number, proportionalIou: number) => ({
    labelId,
    name,
    reference,
    query,
    truth: [1, 3] as const,
    predicted: [1, 3] as const,
    iou,
    proportional: [2, 4] as const,
    proportionalIou
  })
  const index: LocalizationIndex = {
    kind: "Localization",
    method: "sorting",
    volumes: [
      { id: "a", spearman: 0.95, scores: [0, 1, 2, 3, 4, 5] },
      { id: "b", spearman: 0.85, scores: [0, 0.5, 2, 2.5, 4, 6] }
    ],
    organs: [
      pair(1, "lungs", "a", "b", 1, 0.5),
      pair(1, "lungs", "b", "a", 0.5, 1),
      pair(2, "heart", "a", "b", 0.6, 0.4),
      pair(2, "heart", "b", "a", 0.7, 0.5),
      pair(3, "spine", "a", "b", 0.9, 1),
      pair(3, "spine", "b", "a", 0.92, 1)
    ],
    partialScans: [{ volume: "b", reference: "a", trueOffset: 2, predictedOffset: 2, errorSlices: 0 }]
  }
  return withSummary(index, { lungs: [0.81, 0.7], heart: [0.55, 0.6], spine: [0.97, 0.99] }, ["spine"])
}

const examplePng = (): Buffer => {
  const png = new PNG({ width: 6, height: 2 })
  for (let i = 0; i < png.data.length; i += 4) png.data.set([200, 40, 40, 255], i)
  return PNG.sync.write(png)
}

/** An Embeddings index of two volumes (12 and 8 slices) whose projection runs along a quarter circle. */
export const embeddingsIndex = (): EmbeddingsIndex => ({
  kind: "Embeddings",
  method: "sorting",
  dims: 4,
  volumes: [12, 8].map((slices, v) => ({
    id: `v${v}`,
    slices,
    embeddings: `v${v}/embeddings.npy`,
    scores: `v${v}/scores.npy`,
    projection: Array.from({ length: slices }, (_, z) => {
      const angle = (Math.PI / 2) * (z / (slices - 1))
      return [+(3 * Math.cos(angle) + v).toFixed(3), +(3 * Math.sin(angle)).toFixed(3)] as const
    })
  })),
  csv: "embeddings.csv",
  explainedVariance: [0.61, 0.22]
})

/**
 * Input artifacts for the report stage: two encoders, two segmenters, one Metrics, two
 * Localizations (one with the multi-reference summary, one written before it), one Embeddings.
 */
export const reportFixtures = () => {
  const metricsDir = writeIndex("metrics", metrics())
  mkdirSync(join(metricsDir, "examples"))
  writeFileSync(join(metricsDir, "examples", "0.png"), examplePng())
  return {
    encoders: [
      artifactFromDir("Encoder", writeIndex("enc", encoder("sorting")), "pretrain"),
      artifactFromDir("Encoder", writeIndex("enc", encoder("simclr")), "simclr")
    ],
    segmenters: [
      artifactFromDir("Segmenter", writeIndex("seg", segmenter("sorting", 1)), "finetune"),
      artifactFromDir("Segmenter", writeIndex("seg", segmenter("none", 1)), "baseline")
    ],
    metrics: [artifactFromDir("Metrics", metricsDir, "evaluate")],
    localizations: [
      artifactFromDir("Localization", writeIndex("loc", summarizedLocalization()), "localize"),
      artifactFromDir("Localization", writeIndex("loc", pairOnlyLocalization()), "localize-v1")
    ],
    embeddings: [artifactFromDir("Embeddings", writeIndex("emb", embeddingsIndex()), "embed")]
  }
}
