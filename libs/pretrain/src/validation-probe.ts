import { evenlySpaced } from "./metrics.ts"
import { type ProbeSample, probeSlices } from "./probe.ts"
import type { TupleData } from "./data.ts"

/** The slices the probes embed at every validation and which organs each shows. */
export interface ProbeSet {
  readonly slices: ReadonlyArray<{ readonly volume: string; readonly position: number; readonly present: ReadonlyArray<boolean> }>
  /** Label ids the `present` flags refer to, in order. */
  readonly organs: ReadonlyArray<number>
}

/**
 * Evenly spaced slices of the given volumes that carry label maps, with the organs (label ids ≠ 0)
 * each slice shows. Undefined when fewer than two of them are labeled (leave-one-volume-out
 * needs two) or the TupleSet's slices do not run along z, where the label maps are stored by slice.
 */
export const probeSet = (data: TupleData, volumes: ReadonlyArray<string>, perVolume: number): ProbeSet | undefined => {
  if (data.index.axis !== "z") return undefined
  const labeled = volumes.filter((id) => data.volumes.get(id)?.header.hasLabels)
  if (labeled.length < 2) return undefined
  const organs = [...new Set(labeled.flatMap((id) => data.volumes.get(id)!.header.labelIds.filter((l) => l !== 0)))].sort((a, b) => a - b)
  const slices = labeled.flatMap((volume) =>
    evenlySpaced(data.depth(volume), perVolume).map((position) => {
      const labels = data.volumes.get(volume)!.readLabelSlice(position)
      const shown = new Set<number>()
      for (let i = 0; i < labels.length; i++) shown.add(labels[i])
      return { volume, position, present: organs.map((o) => shown.has(o)) }
    })
  )
  return { slices, organs }
}

/**
 * Probe figures of one validation: `features` holds one row of `dims` numbers per slice of `set`.
 * `knnProbe` and `linearProbe` are balanced accuracies in [0, 1] (0.5 = chance), mean over organs.
 */
export const probeMetrics = (set: ProbeSet, features: Float32Array, dims: number): Record<string, number> => {
  const samples: Array<ProbeSample> = set.slices.map((s, i) => ({
    volume: s.volume,
    present: s.present,
    features: features.subarray(i * dims, (i + 1) * dims)
  }))
  const result = probeSlices(samples)
  return result ? { knnProbe: result.knn, linearProbe: result.linear } : {}
}
