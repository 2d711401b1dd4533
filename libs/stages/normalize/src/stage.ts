import { Effect } from "effect"
import { join } from "node:path"
import { defineStage, type VolumeEntry } from "@tomoprior/core"
import { openVolume, resolveVolumeSet, volumeEntry, writeVolume, type LabelArray, type VolumeHandle } from "@tomoprior/volume"
import { NormalizeParams } from "./params.ts"
import { bilinear, linearTable, nearest, nearestTable, resampledAffine } from "./resample.ts"

const HISTOGRAM_BINS = 1 << 16

/** Percentiles from a fine histogram between the volume's min and max (one streaming pass). */
const percentileRange = (v: VolumeHandle, p: readonly [number, number]): readonly [number, number] => {
  const { min, max } = v.header.stats
  if (max <= min) return [min, max]
  const hist = new Float64Array(HISTOGRAM_BINS)
  const scale = (HISTOGRAM_BINS - 1) / (max - min)
  const slice = new Float32Array(v.header.dims[1] * v.header.dims[2])
  for (let z = 0; z < v.header.dims[0]; z++) {
    v.readSlice(z, slice)
    for (let i = 0; i < slice.length; i++) hist[Math.round((slice[i] - min) * scale)]++
  }
  const total = slice.length * v.header.dims[0]
  const at = (q: number) => {
    const target = (q / 100) * total
    let acc = 0
    for (let b = 0; b < HISTOGRAM_BINS; b++) {
      acc += hist[b]
      if (acc >= target) return min + b / scale
    }
    return max
  }
  return [at(Math.min(p[0], p[1])), at(Math.max(p[0], p[1]))]
}

/** Mean and std of the clipped volume, float64. */
const clippedMoments = (v: VolumeHandle, lo: number, hi: number): { mean: number; std: number } => {
  const slice = new Float32Array(v.header.dims[1] * v.header.dims[2])
  let n = 0
  let mean = 0
  let m2 = 0
  for (let z = 0; z < v.header.dims[0]; z++) {
    v.readSlice(z, slice)
    for (let i = 0; i < slice.length; i++) {
      const x = slice[i] < lo ? lo : slice[i] > hi ? hi : slice[i]
      n++
      const d = x - mean
      mean += d / n
      m2 += d * (x - mean)
    }
  }
  return { mean, std: Math.sqrt(m2 / Math.max(n, 1)) }
}

export const normalizeStage = defineStage({
  name: "normalize",
  version: "1",
  description: "HU window or percentile clipping, rescaling, in-plane resize and z resampling, slice by slice → float32 VolumeSet",
  inputs: { volumes: { kind: "VolumeSet" } },
  outputs: { volumes: "VolumeSet" },
  params: NormalizeParams,
  resources: { cpu: 1 },
  source: import.meta.url,
  run: (ctx) =>
    Effect.gen(function* () {
      const params = ctx.params
      const set = resolveVolumeSet(ctx.inputs.volumes.dir, yield* ctx.readIndex(ctx.inputs.volumes))
      const out = ctx.outputs.volumes
      const entries: Array<VolumeEntry> = []
      // ascending ids: a record of integer keys has no other order (JavaScript and canonical JSON sort them)
      const kept = params.keepLabels && Object.entries(params.keepLabels).sort(([a], [b]) => Number(a) - Number(b))
      const relabel = kept && new Map(kept.map(([id], i) => [Number(id), i + 1]))
      const ranges: Record<string, unknown> = {}
      for (const [i, { entry, dir }] of set.volumes.entries()) {
        const header = yield* Effect.scoped(
          Effect.gen(function* () {
            const v = yield* openVolume(dir)
            const [Z, Y, X] = v.header.dims
            const [lo, hi] =
              params.window ?? (params.percentiles ? percentileRange(v, params.percentiles) : [v.header.stats.min, v.header.stats.max])
            const moments = params.scale === "zscore" ? clippedMoments(v, lo, hi) : undefined
            const offset = moments ? moments.mean : params.scale === "unit" ? lo : 0
            const factor = moments ? 1 / (moments.std || 1) : params.scale === "unit" ? 1 / (hi - lo || 1) : 1
            const intensity = { lo, hi, offset, factor }
            ranges[entry.id] = { lo, hi, ...(moments ?? {}) }
            const outY = params.size ?? Y
            const outX = params.size ?? X
            const outZ = params.spacingZ ? Math.max(1, Math.round((Z * v.header.spacing[0]) / params.spacingZ)) : Z
            const ty = linearTable(Y, outY)
            const tx = linearTable(X, outX)
            const ny = nearestTable(Y, outY)
            const nx = nearestTable(X, outX)
            const tz = linearTable(Z, outZ)
            const nz = nearestTable(Z, outZ)
            const raw = new Float32Array(Y * X)
            // the two resized input slices z-interpolation needs, kept by index
            const cache = [
              { z: -1, data: new Float32Array(outY * outX) },
              { z: -1, data: new Float32Array(outY * outX) }
            ]
            const resized = (z: number): Float32Array => {
              const hit = cache.find((c) => c.z === z)
              if (hit) return hit.data
              const slot = cache[0].z < cache[1].z ? cache[0] : cache[1]
              bilinear(v.readSlice(z, raw), X, ty, tx, slot.data, intensity)
              slot.z = z
              return slot.data
            }
            const voxels = new Float32Array(outY * outX)
            const labelIn: LabelArray | undefined = v.header.hasLabels
              ? v.header.labelDtype === "uint16"
                ? new Uint16Array(Y * X)
                : new Uint8Array(Y * X)
              : undefined
            const labelOut: LabelArray | undefined = labelIn
              ? labelIn instanceof Uint16Array
                ? new Uint16Array(outY * outX)
                : new Uint8Array(outY * outX)
              : undefined
            const dims = [outZ, outY, outX] as const
            return yield* writeVolume(
              join(out, entry.path),
              {
                dims,
                spacing: [(v.header.spacing[0] * Z) / outZ, (v.header.spacing[1] * Y) / outY, (v.header.spacing[2] * X) / outX],
                dtype: "float32",
                affine: resampledAffine(v.header.affine, v.header.dims, dims),
                axisCodes: v.header.axisCodes,
                source: v.header.source,
                labelDtype: v.header.labelDtype
              },
              (k) =>
                Effect.gen(function* () {
                  const a = resized(tz.i0[k])
                  const b = resized(tz.i1[k])
                  const w = tz.w[k]
                  for (let j = 0; j < voxels.length; j++) voxels[j] = a[j] + (b[j] - a[j]) * w
                  if (labelIn && labelOut) {
                    nearest(v.readLabelSlice(nz[k], labelIn), X, ny, nx, labelOut)
                    if (relabel) for (let j = 0; j < labelOut.length; j++) labelOut[j] = relabel.get(labelOut[j]) ?? 0
                  }
                  if (k % 16 === 15 || k === outZ - 1)
                    yield* ctx.progress({
                      done: i,
                      total: set.volumes.length,
                      unit: "volumes",
                      message: `${entry.id} slice ${k + 1}/${outZ}`
                    })
                  return { voxels, labels: labelOut }
                })
            )
          })
        )
        entries.push({ ...volumeEntry(entry.id, entry.path, header), source: entry.source })
      }
      yield* ctx.progress({ done: set.volumes.length, total: set.volumes.length, unit: "volumes" })
      yield* ctx.provenance({ ranges })
      const labelNames = kept
        ? Object.fromEntries([["0", "background"], ...kept.map(([, name], i) => [String(i + 1), name])])
        : set.index.labelNames
      yield* ctx.writeIndex("volumes", { kind: "VolumeSet", volumes: entries, labelNames })
    })
})
