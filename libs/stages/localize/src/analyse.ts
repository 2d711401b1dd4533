import type { LocalizationIndex } from "@tomoprior/core"
import { makeRng } from "@tomoprior/augment"
import {
  intervalIoU,
  isotonic,
  landmarkMap,
  locateBlock,
  presentInterval,
  proportionalInterval,
  scoreRangeLocalise,
  type SliceInterval,
  spearman
} from "./localise.ts"

export interface ScoredVolume {
  readonly id: string
  readonly scores: ReadonlyArray<number>
  /** Slice interval of each foreground label present in the volume (empty without labels). */
  readonly organs: ReadonlyMap<number, SliceInterval>
}

export interface AnalysisOptions {
  readonly method: string
  readonly labelNames: Readonly<Record<string, string>>
  /** Length of a partial scan as a share of its volume. */
  readonly partialLength: number
  readonly seed: number
  /** Localise on the isotonic fit of each volume's scores ("isotonic") or on the raw scores. */
  readonly smoothing: "isotonic" | "none"
}

/** Per-slice label presence → the interval of every foreground label. */
export const organIntervals = (presence: ReadonlyMap<number, ReadonlyArray<boolean>>): Map<number, SliceInterval> => {
  const out = new Map<number, SliceInterval>()
  for (const [label, present] of presence) {
    const interval = presentInterval(present)
    if (interval) out.set(label, interval)
  }
  return out
}

/**
 * Everything the Localization artifact reports, from slice scores and label intervals:
 * Spearman per volume (raw scores); every organ localised from every other volume that has it
 * (score range vs proportional); and one seeded partial scan per (query, reference) pair located by score matching,
 * its true offset taken from the organ landmarks both volumes share.
 */
export const analyse = (volumes: ReadonlyArray<ScoredVolume>, options: AnalysisOptions): LocalizationIndex => {
  const rng = makeRng(options.seed)
  const localised = new Map(
    volumes.map((v) => [v.id, options.smoothing === "isotonic" ? isotonic(v.scores) : v.scores] as const)
  )
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
        const predicted = scoreRangeLocalise(localised.get(reference.id)!, refInterval, localised.get(query.id)!)
        const proportional = proportionalInterval(refInterval, reference.scores.length, query.scores.length)
        organs.push({
          labelId: label,
          name: options.labelNames[String(label)] ?? `label ${label}`,
          reference: reference.id,
          query: query.id,
          truth,
          predicted,
          iou: predicted ? intervalIoU(predicted, truth) : 0,
          proportional,
          proportionalIou: intervalIoU(proportional, truth)
        })
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
  return {
    kind: "Localization",
    method: options.method,
    volumes: volumes.map((v) => ({ id: v.id, spearman: spearman(v.scores, v.scores.map((_, i) => i)), scores: [...v.scores] })),
    organs,
    partialScans
  }
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
  const sign = spearman(first, first.map((_, i) => i)) < 0 ? -1 : 1
  return scores.map((vol) => vol.map((s) => sign * s))
}
