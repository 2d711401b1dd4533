import {
  type ArtifactKind,
  budgetLabel,
  budgetOrder,
  EncoderIndex,
  LocalizationIndex,
  Manifest,
  MANIFEST_SCHEMA_VERSION,
  MetricsIndex
} from "@tomoprior/core"
import { MANIFEST_FILE, readArtifactIndex, readJsonFile } from "@tomoprior/runner"
import { Effect } from "effect"
import { join } from "node:path"

/** One number a run is judged by, with its spread when it is a mean over repeats. */
export interface Headline {
  /** e.g. `sorting spearman`, `evaluate IoU sorting 1 %`. */
  readonly name: string
  readonly value: number
  /** Sample std over seeds and how many, for means over repeats. */
  readonly std?: number
  readonly n?: number
  /** A 95 % (or other) interval, for differences between methods. */
  readonly interval?: readonly [number, number]
  /** How to print it: `percent` values are fractions shown ×100 (IoU). */
  readonly scale: "plain" | "percent"
}

/** Throughput and the untrained model's figures describe the machine and the start, not the result. */
const isHeadlineFinal = (name: string): boolean => !/PerSecond$/i.test(name) && !name.startsWith("untrained_")

const encoderHeadlines = (stage: string, index: EncoderIndex): Array<Headline> =>
  Object.entries(index.final)
    .filter(([k]) => isHeadlineFinal(k))
    .map(([k, value]) => ({ name: `${stage} ${k}`, value, scale: "plain" }))

/**
 * The foreground-mean IoU on held-out volumes per pre-training × label budget (the paper's table),
 * then the paired differences between pre-trainings with their intervals.
 */
const metricsHeadlines = (stage: string, index: MetricsIndex): Array<Headline> => [
  ...(index.summary ?? [])
    .filter((r) => r.classId === null && r.split === "extrapolation")
    .sort((a, b) => (a.fraction ?? 0) - (b.fraction ?? 0) || a.pretraining.localeCompare(b.pretraining))
    .map((r) => ({
      name: `${stage} IoU ${r.pretraining} ${budgetLabel(r)}`,
      value: r.iouMean,
      std: r.iouStd,
      n: r.seeds,
      scale: "percent" as const
    })),
  ...(index.differences ?? [])
    .filter((d) => d.split === "extrapolation")
    .sort((a, b) => budgetOrder(a) - budgetOrder(b))
    .map((d) => ({
      name: `${stage} ${d.a} − ${d.b} ${budgetLabel(d)}`,
      value: d.mean,
      interval: [d.low, d.high] as const,
      scale: "percent" as const
    }))
]

const localizationHeadlines = (stage: string, index: LocalizationIndex): Array<Headline> => {
  const rho = index.volumes.map((v) => v.spearman)
  const spearman: Array<Headline> = rho.length
    ? [{ name: `${stage} spearman`, value: rho.reduce((s, v) => s + v, 0) / rho.length, n: rho.length, scale: "plain" }]
    : []
  const intervals = (index.summary ?? [])
    .filter((r) => r.labelId === null)
    .map((r): Headline => ({ name: `${stage} interval IoU ${r.localizer}`, value: r.meanIoU, n: r.cases, scale: "plain" }))
  return [...spearman, ...intervals]
}

/**
 * The headline numbers of one stored artifact, by its kind: an Encoder's held-out validation
 * figures, a Metrics' IoU table, a Localization's order and interval figures. Other kinds have
 * none. Undefined when the artifact is not in this store.
 */
export const artifactHeadlines = (stage: string, dir: string) =>
  Effect.gen(function* () {
    const manifest = yield* Effect.promise(() => readJsonFile(join(dir, MANIFEST_FILE), Manifest))
    if (!manifest || manifest.schemaVersion !== MANIFEST_SCHEMA_VERSION) return undefined
    const kind: ArtifactKind = manifest.kind
    switch (kind) {
      case "Encoder":
        return encoderHeadlines(stage, yield* readArtifactIndex(dir, kind))
      case "Metrics":
        return metricsHeadlines(stage, yield* readArtifactIndex(dir, kind))
      case "Localization":
        return localizationHeadlines(stage, yield* readArtifactIndex(dir, kind))
      default:
        return []
    }
  })
