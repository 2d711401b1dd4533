import { LOCALIZERS, type LocalizationIndex } from "@tomoprior/core"
import { makeRng } from "@tomoprior/augment"
import {
  alignSlices,
  type AlignOptions,
  intervalIoU,
  isotonic,
  landmarkMap,
  locateBlock,
  medianInterval,
  presentInterval,
  proportionalInterval,
  proportionalMap,
  scoreRangeLocalize,
  sliceDistances,
  type SliceInterval,
  spearman
} from "./localize.ts"

export interface ScoredVolume {
  readonly id: string
  readonly scores: ReadonlyArray<number>
  /** Slice interval of each foreground label present in the volume (empty without labels). */
  readonly organs: ReadonlyMap<number, SliceInterval>
  /** Per-slice embedding (the encoder's pooled features); aligns scans better than the score alone. */
  readonly features?: ReadonlyArray<ArrayLike<number>>
}

export interface AnalysisOptions {
  readonly method: string
  readonly labelNames: Readonly<Record<string, string>>
  /** Length of a partial scan as a share of its volume. */
  readonly partialLength: number
  readonly seed: number
  /** Localize on the isotonic fit of each volume's scores ("isotonic") or on the raw scores. */
  readonly smoothing: "isotonic" | "none"
  /** Most reference volumes per query for the multi-reference localizer (its cost grows with queries × references). */
  readonly maxReferences: number
}

/**
 * Slice alignment of the multi-reference localizer: two scans share at least 40 % of the query's
 * slices (phantom scans cover 0.3–1 of the body and always share its middle); spacing ratios up to
 * 4× either way.
 */
export const ALIGNMENT: AlignOptions = { minOverlap: 0.4, maxScale: 4 }

/** A label spanning at least this share of every volume that has it is whole-body (the spine). */
const WHOLE_BODY = 0.95

/** Per-slice label presence → the interval of every foreground label. */
export const organIntervals = (presence: ReadonlyMap<number, ReadonlyArray<boolean>>): Map<number, SliceInterval> => {
  const out = new Map<number, SliceInterval>()
  for (const [label, present] of presence) {
    const interval = presentInterval(present)
    if (interval) out.set(label, interval)
  }
  return out
}

/** One organ's located interval and its proportional baseline, each scored by interval IoU against the truth. */
const organScores = <P extends SliceInterval | null>(
  label: number,
  labelNames: Readonly<Record<string, string>>,
  truth: SliceInterval,
  predicted: SliceInterval | null,
  proportional: P
) => ({
  labelId: label,
  name: labelNames[String(label)] ?? `label ${label}`,
  truth,
  predicted,
  iou: predicted ? intervalIoU(predicted, truth) : 0,
  proportional,
  proportionalIou: proportional ? intervalIoU(proportional, truth) : 0
})

/**
 * Everything the Localization artifact reports, from slice scores (and embeddings) and label intervals:
 * Spearman per volume (raw scores); every organ localized from every other volume that has it, one
 * reference at a time (score range vs proportional) and from all of them at once (slice alignment vs
 * proportional, leave one out), with a per-organ summary; and one seeded partial scan per (query,
 * reference) pair located by score matching, its true offset taken from the organ landmarks both volumes share.
 */
export const analyze = (volumes: ReadonlyArray<ScoredVolume>, options: AnalysisOptions): LocalizationIndex => {
  const rng = makeRng(options.seed)
  const localized = new Map(volumes.map((v) => [v.id, options.smoothing === "isotonic" ? isotonic(v.scores) : v.scores] as const))
  const organs: Array<LocalizationIndex["organs"][number]> = []
  const partialScans: Array<LocalizationIndex["partialScans"][number]> = []
  for (const query of volumes) {
    const m = Math.max(2, Math.round(options.partialLength * query.scores.length))
    const offset = rng.int(Math.max(1, query.scores.length - m + 1))
    for (const reference of volumes) {
      if (reference === query) continue
      const shared: Array<{ query: SliceInterval; reference: SliceInterval }> = []
      for (const [label, truth] of query.organs) {
        const refInterval = reference.organs.get(label)
        if (!refInterval) continue
        shared.push({ query: truth, reference: refInterval })
        const predicted = scoreRangeLocalize(localized.get(reference.id)!, refInterval, localized.get(query.id)!)
        const proportional = proportionalInterval(refInterval, reference.scores.length, query.scores.length)
        organs.push({ reference: reference.id, query: query.id, ...organScores(label, options.labelNames, truth, predicted, proportional) })
      }
      const toReference = landmarkMap(shared)
      if (!toReference || m > reference.scores.length) continue
      const match = locateBlock(query.scores.slice(offset, offset + m), reference.scores)
      if (!match) continue
      const trueOffset = Math.round(toReference(offset))
      // a block whose anatomy reaches past the reference's ends has no true place in it
      if (trueOffset < 0 || trueOffset + m > reference.scores.length) continue
      partialScans.push({
        volume: query.id,
        reference: reference.id,
        trueOffset,
        predictedOffset: match.offset,
        errorSlices: Math.abs(match.offset - trueOffset)
      })
    }
  }
  // embeddings only when every volume has them: distances between different descriptors mean nothing
  const alignedOn = volumes.every((v) => v.features && v.features.length === v.scores.length) ? "embeddings" : "scores"
  const described =
    alignedOn === "embeddings"
      ? embeddingDescriptors(volumes.map((v) => [v.id, v.features!] as const))
      : new Map([...localized].map(([id, s]) => [id, s.map((x) => [x])] as const))
  const multiReference = locateFromAllReferences(volumes, described, options)
  return {
    kind: "Localization",
    method: options.method,
    volumes: volumes.map((v) => ({
      id: v.id,
      spearman: spearman(
        v.scores,
        v.scores.map((_, i) => i)
      ),
      scores: [...v.scores]
    })),
    organs,
    partialScans,
    alignedOn,
    multiReference,
    summary: summarize(volumes, organs, multiReference, options.labelNames)
  }
}

/**
 * Slice descriptors for alignment from embeddings: each feature standardized over every slice of
 * every volume (so no feature dominates by its range), then each slice scaled to unit length, so
 * distances compare directions — overall activation also follows scan noise and contrast.
 */
export const embeddingDescriptors = (
  volumes: ReadonlyArray<readonly [string, ReadonlyArray<ArrayLike<number>>]>
): Map<string, Array<Float64Array>> => {
  const all = volumes.flatMap(([, rows]) => rows)
  const d = all[0]?.length ?? 0
  const mu = new Float64Array(d)
  const sd = new Float64Array(d)
  for (const row of all) for (let j = 0; j < d; j++) mu[j] += row[j] / all.length
  for (const row of all) for (let j = 0; j < d; j++) sd[j] += (row[j] - mu[j]) ** 2 / all.length
  const scale = sd.map((v) => (v > 0 ? 1 / Math.sqrt(v) : 0))
  const describe = (row: ArrayLike<number>) => {
    const out = new Float64Array(d)
    for (let j = 0; j < d; j++) out[j] = (row[j] - mu[j]) * scale[j]
    const norm = Math.hypot(...out)
    return norm > 0 ? out.map((v) => v / norm) : out
  }
  return new Map(volumes.map(([id, rows]) => [id, rows.map(describe)] as const))
}

type MultiReferenceRow = NonNullable<LocalizationIndex["multiReference"]>[number]
type SummaryRow = NonNullable<LocalizationIndex["summary"]>[number]

/**
 * Leave one out: every organ of every query located from all other volumes that have it, by the
 * median of their intervals mapped through slice alignment (on the `described` per-slice descriptors),
 * and through proportional position (the same combination, so the baseline gains as much from many references).
 */
const locateFromAllReferences = (
  volumes: ReadonlyArray<ScoredVolume>,
  described: ReadonlyMap<string, ReadonlyArray<ArrayLike<number>>>,
  options: AnalysisOptions
): Array<MultiReferenceRow> => {
  const rows: Array<MultiReferenceRow> = []
  for (const [i, query] of volumes.entries()) {
    const n = query.scores.length
    // the labeled volumes after the query, wrapping round, so each serves as a reference equally often
    const candidates = [...volumes.slice(i + 1), ...volumes.slice(0, i)].filter((r) => r.organs.size > 0)
    const alignments = new Map(
      candidates
        .slice(0, options.maxReferences)
        .map((r) => [r, alignSlices(sliceDistances(described.get(query.id)!, described.get(r.id)!), ALIGNMENT)] as const)
    )
    for (const [label, truth] of query.organs) {
      const references = [...alignments.keys()].filter((r) => r.organs.has(label))
      if (references.length === 0) continue
      const mapped = (map: (r: ScoredVolume) => { scale: number; offset: number } | null) =>
        references.flatMap((r) => {
          const m = map(r)
          return m ? [{ organ: r.organs.get(label)!, length: r.scores.length, map: m }] : []
        })
      const predicted = medianInterval(
        mapped((r) => alignments.get(r)!),
        n
      )
      const proportional = medianInterval(
        mapped((r) => proportionalMap(n, r.scores.length)),
        n
      )
      rows.push({
        query: query.id,
        references: references.length,
        ...organScores(label, options.labelNames, truth, predicted, proportional)
      })
    }
  }
  return rows
}

const mean = (values: ReadonlyArray<number>): number => values.reduce((s, v) => s + v, 0) / values.length

/**
 * Mean IoU per organ for each localizer, then the headline row: the mean over organs (each organ
 * once, however many pairs it has) leaving whole-body labels out, since proportional placement is
 * trivially perfect for them.
 */
const summarize = (
  volumes: ReadonlyArray<ScoredVolume>,
  pairs: ReadonlyArray<LocalizationIndex["organs"][number]>,
  multi: ReadonlyArray<MultiReferenceRow>,
  labelNames: Readonly<Record<string, string>>
): Array<SummaryRow> => {
  const labels = [...new Set(multi.map((r) => r.labelId))].sort((a, b) => a - b)
  const wholeBody = (label: number) =>
    volumes.every((v) => {
      const o = v.organs.get(label)
      return !o || o[1] - o[0] + 1 >= WHOLE_BODY * v.scores.length
    })
  const ious: Record<(typeof LOCALIZERS)[number], (label: number) => Array<number>> = {
    aligned: (l) => multi.filter((r) => r.labelId === l).map((r) => r.iou),
    "proportional-median": (l) => multi.filter((r) => r.labelId === l).map((r) => r.proportionalIou),
    "score-range": (l) => pairs.filter((r) => r.labelId === l).map((r) => r.iou),
    proportional: (l) => pairs.filter((r) => r.labelId === l).map((r) => r.proportionalIou)
  }
  const rows: Array<SummaryRow> = []
  for (const localizer of LOCALIZERS) {
    const perOrgan = labels.map((label) => {
      const values = ious[localizer](label)
      return { label, cases: values.length, meanIoU: mean(values), wholeBody: wholeBody(label) }
    })
    for (const o of perOrgan.filter((o) => o.cases > 0)) {
      rows.push({
        labelId: o.label,
        name: labelNames[String(o.label)] ?? `label ${o.label}`,
        wholeBody: o.wholeBody,
        localizer,
        cases: o.cases,
        meanIoU: o.meanIoU
      })
    }
    const headline = perOrgan.filter((o) => !o.wholeBody && o.cases > 0)
    if (headline.length > 0) {
      rows.push({
        labelId: null,
        name: "mean over organs (whole-body labels left out)",
        wholeBody: false,
        localizer,
        cases: headline.reduce((s, o) => s + o.cases, 0),
        meanIoU: mean(headline.map((o) => o.meanIoU))
      })
    }
  }
  return rows
}

/**
 * A score for encoders without a score head (SimCLR): the first principal component of the slice
 * embeddings over all volumes, its sign chosen so it rises along the axis of the first volume
 * (slice order is known without labels). Power iteration on the covariance.
 */
export const firstPrincipalComponent = (embeddings: ReadonlyArray<ReadonlyArray<Float32Array>>): Array<Array<number>> => {
  const flat = embeddings.flat()
  const d = flat[0]?.length ?? 0
  const mean = new Float64Array(d)
  for (const e of flat) for (let j = 0; j < d; j++) mean[j] += e[j] / flat.length
  let v = new Float64Array(d).map((_, j) => 1 / Math.sqrt(d) + j * 1e-6)
  for (let it = 0; it < 100; it++) {
    const next = new Float64Array(d)
    for (const e of flat) {
      let dot = 0
      for (let j = 0; j < d; j++) dot += (e[j] - mean[j]) * v[j]
      for (let j = 0; j < d; j++) next[j] += dot * (e[j] - mean[j])
    }
    const norm = Math.hypot(...next)
    if (norm === 0) break
    v = next.map((x) => x / norm)
  }
  const project = (e: Float32Array) => {
    let s = 0
    for (let j = 0; j < d; j++) s += (e[j] - mean[j]) * v[j]
    return s
  }
  const scores = embeddings.map((vol) => vol.map(project))
  const first = scores[0] ?? []
  const sign =
    spearman(
      first,
      first.map((_, i) => i)
    ) < 0
      ? -1
      : 1
  return scores.map((vol) => vol.map((s) => sign * s))
}
