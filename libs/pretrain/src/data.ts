import { Effect, type Scope } from "effect"
import { join } from "node:path"
import { INDEX_FILE, InputError, type TupleSetIndex, type TupleGroup } from "@tomoprior/core"
import { openVolume, readVolumeSet, type VolumeHandle } from "@tomoprior/volume"
import { augmentSlice, deriveSeed, type AugmentConfig } from "@tomoprior/augment"

/** A TupleSet opened for training: its index and a handle per volume it carries under `volumes/`. */
export interface TupleData {
  readonly index: TupleSetIndex
  readonly volumes: ReadonlyMap<string, VolumeHandle>
  /** Depth along the TupleSet's axis. */
  readonly depth: (volumeId: string) => number
  /** One plane along the TupleSet's axis with its height and width. */
  readonly slice: (volumeId: string, position: number) => { data: Float32Array; h: number; w: number }
}

const axisOf = { z: 0, y: 1, x: 2 } as const

/** A TupleSet artifact (`dir`, whose index is read) with its carried volumes opened. */
export const openTupleSet = (dir: string, index: TupleSetIndex): Effect.Effect<TupleData, InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const file = join(dir, INDEX_FILE)
    const set = yield* readVolumeSet(join(dir, "volumes"))
    const volumes = new Map<string, VolumeHandle>()
    for (const v of set.volumes) volumes.set(v.entry.id, yield* openVolume(v.dir))
    for (const id of [...index.trainVolumes, ...index.validationVolumes])
      if (!volumes.has(id)) return yield* new InputError({ file, problem: `volume '${id}' is not in the carried VolumeSet` })
    const ax = axisOf[index.axis]
    const handle = (id: string) => volumes.get(id)!
    const depth = (id: string) => handle(id).header.dims[ax]
    const slice = (id: string, position: number) => {
      const [Z, Y, X] = handle(id).header.dims
      const [h, w] = index.axis === "z" ? [Y, X] : index.axis === "y" ? [Z, X] : [Z, Y]
      return { data: handle(id).readSliceAlong(index.axis, position), h, w }
    }
    return { index, volumes, depth, slice }
  })

/** Volume of member k of a group (one id for unique/even groups, one per member for aligned). */
export const memberVolume = (group: TupleGroup, k: number): string => (group.volumes.length === 1 ? group.volumes[0] : group.volumes[k])

/**
 * The images of one training step, [groups × members × views, size, size] row-major, each an
 * independent augmentation seeded by (seed, step, slot, view) so a resumed run sees the same
 * inputs. With several views the rows are grouped by view: all first views, then all second views
 * (the layout NT-Xent expects).
 */
export const stepImages = (
  data: TupleData,
  groups: ReadonlyArray<TupleGroup>,
  size: number,
  augment: AugmentConfig,
  seed: number,
  step: number,
  views = 1
): Float32Array => {
  const members = groups.flatMap((g) => g.slices.map((s, k) => ({ volume: memberVolume(g, k), position: s })))
  const pixels = size * size
  const out = new Float32Array(members.length * views * pixels)
  members.forEach((m, slot) => {
    const { data: plane, h, w } = data.slice(m.volume, m.position)
    for (let v = 0; v < views; v++)
      out.set(augmentSlice(plane, h, w, size, augment, deriveSeed(seed, step, slot, v)), (v * members.length + slot) * pixels)
  })
  return out
}

/** Positions of each group's members relative to their volume's depth, in [0, 1]. */
export const groupTargets = (data: TupleData, groups: ReadonlyArray<TupleGroup>): Array<Array<number>> =>
  groups.map((g) => g.slices.map((s, k) => s / Math.max(1, data.depth(memberVolume(g, k)) - 1)))
