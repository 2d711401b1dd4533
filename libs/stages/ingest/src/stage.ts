import { Effect } from "effect"
import { join } from "node:path"
import { defineStage, type VolumeEntry } from "@tomoprior/core"
import {
  openSource,
  PHANTOM_LABELS,
  phantomVolume,
  phantomVolumeSeed,
  storeVolume,
  volumeEntry,
  type SourceOptions,
  type VolumeSource
} from "@tomoprior/volume"
import { filesUnder, nameOf, resolveInputs, uniqueIds } from "./inputs.ts"
import { IngestParams, PHANTOM_SOURCE } from "./params.ts"

export const ingestStage = defineStage({
  name: "ingest",
  version: "1",
  description:
    "Reads NIfTI, TIFF, DICOM, HDF5 and Zarr volumes (or generates phantom:torso) into a VolumeSet, canonical RAS+, slice-addressable",
  inputs: {},
  outputs: { volumes: "VolumeSet" },
  params: IngestParams,
  resources: { cpu: 1 },
  source: import.meta.url,
  externalFiles: (params, pipelineDir) => {
    if (params.source === PHANTOM_SOURCE) return Effect.succeed([])
    return Effect.map(resolveInputs(params, pipelineDir), (pairs) =>
      pairs.flatMap((p) => [...filesUnder(p.image), ...(p.labels ? filesUnder(p.labels) : [])])
    )
  },
  run: (ctx) =>
    Effect.gen(function* () {
      const params = ctx.params
      const out = ctx.outputs.volumes
      const entries: Array<VolumeEntry> = []
      const labelIds = new Set<number>()
      if (params.source === PHANTOM_SOURCE) {
        const total = params.volumes * params.slices
        for (let i = 0; i < params.volumes; i++) {
          const seed = phantomVolumeSeed(params.seed, i)
          const id = `torso-${String(i).padStart(3, "0")}`
          const p = phantomVolume(seed, { size: params.size, slices: params.slices, difficulty: params.difficulty })
          const header = yield* storeVolume(join(out, "volumes", id), p.image, p.labels, {
            source: `${PHANTOM_SOURCE}#${seed}`,
            onSlice: (z) =>
              z % 16 === 15 || z === params.slices - 1
                ? ctx.progress({ done: i * params.slices + z + 1, total, unit: "slices", message: id })
                : Effect.void
          })
          entries.push(volumeEntry(id, `volumes/${id}`, header))
        }
        yield* ctx.provenance({
          source: PHANTOM_SOURCE,
          seed: params.seed,
          volumes: params.volumes,
          size: params.size,
          slices: params.slices,
          difficulty: params.difficulty
        })
        yield* ctx.writeIndex("volumes", { kind: "VolumeSet", volumes: entries, labelNames: params.labelNames ?? PHANTOM_LABELS })
        return
      }
      const baseDir = ctx.pipelineDir ?? process.cwd()
      const pairs = yield* resolveInputs(params, baseDir)
      const ids = uniqueIds(pairs.map((p) => nameOf(p.image)))
      const options: SourceOptions = {
        ...(params.spacing ? { spacing: params.spacing } : {}),
        ...(params.series ? { series: params.series } : {}),
        ...(params.dataset ? { dataset: params.dataset } : {}),
        ...(params.level !== undefined ? { level: params.level } : {})
      }
      const labelOptions: SourceOptions = { ...options, series: undefined, dataset: params.labelDataset ?? params.dataset }
      for (const [i, pair] of pairs.entries()) {
        const header = yield* Effect.scoped(
          Effect.gen(function* () {
            const image = yield* openSource(pair.image, options)
            const labels: VolumeSource | undefined = pair.labels ? yield* openSource(pair.labels, labelOptions) : undefined
            yield* ctx.log(
              `${ids[i]}: ${image.native.dims.join("×")} ${image.native.voxelType}, axes ` +
                `${image.native.axisCodes.join("")} → stored [z,y,x] ${image.dims.join("×")} ${image.dtype}`
            )
            return yield* storeVolume(join(out, "volumes", ids[i]), image, labels, {
              source: pair.image,
              onSlice: (z) =>
                z % 16 === 15 || z === image.dims[0] - 1
                  ? ctx.progress({ done: i, total: pairs.length, unit: "volumes", message: `${ids[i]} slice ${z + 1}/${image.dims[0]}` })
                  : Effect.void
            })
          })
        )
        header.labelIds.forEach((l) => labelIds.add(l))
        entries.push(volumeEntry(ids[i], `volumes/${ids[i]}`, header))
      }
      yield* ctx.progress({ done: pairs.length, total: pairs.length, unit: "volumes" })
      const names =
        params.labelNames ??
        Object.fromEntries([...labelIds].sort((a, b) => a - b).map((l) => [String(l), l === 0 ? "background" : `label ${l}`]))
      yield* ctx.provenance({ source: params.source, labels: params.labels ?? null, files: pairs.length })
      yield* ctx.writeIndex("volumes", { kind: "VolumeSet", volumes: entries, labelNames: names })
    })
})
