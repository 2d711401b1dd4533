import { makeRng, deriveSeed, type Rng } from "@tomoprior/augment"
import type { TupleGroup } from "@tomoprior/core"
import { Effect, Schema } from "effect"

export type SamplingMode = "unique" | "even" | "aligned"
export type Axis = "z" | "y" | "x"
export const axisIndex = (axis: Axis): number => ({ z: 0, y: 1, x: 2 })[axis]

export interface SamplingPlan {
  readonly mode: SamplingMode
  readonly groupSize: number
  readonly groupsPerEpoch: number
  readonly epochs: number
  /** Smallest |i − j| between two members of a group (unique/aligned; `even` repeats by design). */
  readonly minGap: number
  readonly seed: number
}

/** Depth along the sampling axis per training volume id. */
export type Depths = ReadonlyMap<string, number>

/** A plan that cannot be drawn from these volumes; `problem` says what to change. */
export class SamplingError extends Schema.TaggedError<SamplingError>()("SamplingError", { problem: Schema.String }) {
  override get message(): string {
    return this.problem
  }
}

/** Slots needed for B positions pairwise ≥ gap apart. */
const span = (groupSize: number, gap: number): number => (groupSize - 1) * gap + 1

/**
 * B sorted positions in [0, depth) pairwise ≥ gap apart, uniform over all such sets: draw B distinct
 * values from the depth − (B − 1)(gap − 1) "compressed" slots, sort, and re-expand the gaps.
 */
const gappedPositions = (rng: Rng, depth: number, groupSize: number, gap: number): Array<number> => {
  const slots = depth - (groupSize - 1) * (gap - 1)
  const chosen = new Set<number>()
  // Floyd's algorithm: B distinct draws without materialising the slot list.
  for (let j = slots - groupSize; j < slots; j++) {
    const t = rng.int(j + 1)
    chosen.add(chosen.has(t) ? j : t)
  }
  return [...chosen].sort((a, b) => a - b).map((p, i) => p + i * (gap - 1))
}

/** Why the plan cannot be drawn from these volumes, or undefined when it can. */
export const planProblem = (plan: SamplingPlan, depths: Depths): string | undefined => {
  if (depths.size === 0) return "no training volumes: lower `validation` or add volumes"
  if (plan.mode === "even") return undefined
  const need = span(plan.groupSize, plan.minGap)
  const shortest = [...depths].reduce((a, b) => (b[1] < a[1] ? b : a))
  if (shortest[1] >= need) return undefined
  return (
    `volume '${shortest[0]}' has ${shortest[1]} slices along the axis but mode '${plan.mode}' needs ` +
    `${need} for groupSize ${plan.groupSize} with minGap ${plan.minGap}: lower groupSize or minGap, ` +
    `or use mode 'even' (repeats allowed)`
  )
}

const drawGroup = (rng: Rng, plan: SamplingPlan, ids: ReadonlyArray<string>, depths: Depths): TupleGroup => {
  const B = plan.groupSize
  switch (plan.mode) {
    case "unique": {
      const id = ids[rng.int(ids.length)]
      return { volumes: [id], slices: rng.shuffle(gappedPositions(rng, depths.get(id)!, B, plan.minGap)) }
    }
    case "even": {
      const id = ids[rng.int(ids.length)]
      const depth = depths.get(id)!
      return { volumes: [id], slices: Array.from({ length: B }, () => Math.floor(rng.next() * depth)) }
    }
    case "aligned": {
      // Positions are drawn on the grid of the shortest volume and mapped to each member's own
      // volume by relative position; rounding is monotone, so gaps survive the mapping.
      const shortest = Math.min(...ids.map((id) => depths.get(id)!))
      const relative = rng.shuffle(gappedPositions(rng, shortest, B, plan.minGap)).map((p) => p / Math.max(1, shortest - 1))
      const volumes = relative.map(() => ids[rng.int(ids.length)])
      return { volumes, slices: relative.map((r, k) => Math.round(r * (depths.get(volumes[k])! - 1))) }
    }
  }
}

/** All epochs of groups; epoch e is drawn from its own stream so epochs do not depend on each other. */
export const sampleEpochs = (plan: SamplingPlan, depths: Depths): Effect.Effect<Array<Array<TupleGroup>>, SamplingError> => {
  const problem = planProblem(plan, depths)
  if (problem !== undefined) return Effect.fail(new SamplingError({ problem }))
  const ids = [...depths.keys()].sort()
  return Effect.sync(() =>
    Array.from({ length: plan.epochs }, (_, e) => {
      const rng = makeRng(deriveSeed(plan.seed, 1, e))
      return Array.from({ length: plan.groupsPerEpoch }, () => drawGroup(rng, plan, ids, depths))
    })
  )
}

/**
 * Held-out volumes: `validation` < 1 is a fraction of the set (rounded, at least one when > 0),
 * ≥ 1 a count. At least one volume must stay for training.
 */
export const validationSplit = (
  ids: ReadonlyArray<string>,
  validation: number,
  seed: number
): Effect.Effect<{ train: Array<string>; validation: Array<string> }, SamplingError> => {
  // A count above 1 is whole: the params schema says so.
  const count = validation < 1 ? (validation > 0 ? Math.max(1, Math.round(validation * ids.length)) : 0) : validation
  if (count >= ids.length)
    return Effect.fail(
      new SamplingError({
        problem: `validation takes ${count} of ${ids.length} volumes and leaves none for training: lower \`validation\``
      })
    )
  const shuffled = makeRng(deriveSeed(seed, 2)).shuffle([...ids].sort())
  return Effect.succeed({ validation: shuffled.slice(0, count).sort(), train: shuffled.slice(count).sort() })
}

/**
 * Relative position of each member of a group in [0, 1] — the ordering target. Within one volume
 * it orders like the slice index; across volumes (aligned) it is what is comparable.
 */
export const relativePositions = (group: TupleGroup, depthOf: (volumeId: string) => number): Array<number> =>
  group.slices.map((s, k) => {
    const d = depthOf(group.volumes.length === 1 ? group.volumes[0] : group.volumes[k])
    return d > 1 ? s / (d - 1) : 0
  })
