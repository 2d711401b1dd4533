import { Effect } from "effect"
import { join } from "node:path"
import { defineStage, type VolumeEntry } from "@tomoprior/core"
import { openVolume, resolveVolumeSet, volumeEntry, writeVolume } from "@tomoprior/volume"
import { InterleaveParams } from "./params.ts"
import { partAffine, partSlices } from "./split.ts"

export const interleaveStage = defineStage({
  name: "interleave",
  version: "1",
  description: "Splits every volume into `parts` interleaved volumes (slices j, j + parts, …): slices held out of one labeled scan",
  inputs: { volumes: { kind: "VolumeSet" } },
  outputs: { volumes: "VolumeSet" },
  params: InterleaveParams,
  resources: { cpu: 1 },
  source: import.meta.url,
  run: (ctx) =>
    Effect.gen(function* () {
      const { parts } = ctx.params
      const set = resolveVolumeSet(ctx.inputs.volumes.dir, yield* ctx.readIndex(ctx.inputs.volumes))
      const entries: Array<VolumeEntry> = []
      for (const [i, { entry, dir }] of set.volumes.entries()) {
        for (let j = 0; j < parts; j++) {
          const id = `${entry.id}-${j + 1}of${parts}`
          const header = yield* Effect.scoped(
            Effect.gen(function* () {
              const v = yield* openVolume(dir)
              const zs = partSlices(v.header.dims[0], parts, j)
              const [, Y, X] = v.header.dims
              return yield* writeVolume(
                join(ctx.outputs.volumes, "volumes", id),
                {
                  dims: [zs.length, Y, X],
                  spacing: [v.header.spacing[0] * parts, v.header.spacing[1], v.header.spacing[2]],
                  dtype: v.header.dtype,
                  affine: partAffine(v.header.affine, parts, j),
                  axisCodes: v.header.axisCodes,
                  source: v.header.source,
                  labelDtype: v.header.labelDtype
                },
                (k) =>
                  Effect.succeed({
                    voxels: v.readRawSlice(zs[k]),
                    ...(v.header.hasLabels ? { labels: v.readLabelSlice(zs[k]) } : {})
                  })
              )
            })
          )
          entries.push({ ...volumeEntry(id, `volumes/${id}`, header), source: entry.source })
        }
        yield* ctx.progress({ done: i + 1, total: set.volumes.length, unit: "volumes", message: entry.id })
      }
      yield* ctx.writeIndex("volumes", { kind: "VolumeSet", volumes: entries, labelNames: set.index.labelNames })
    })
})
