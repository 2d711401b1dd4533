import { Effect } from "effect"
import { join } from "node:path"
import { Compute, defineStage, InputError, StageFailure } from "@tomoprior/core"
import { openVolume, resolveVolumeSet, type VolumeHandle } from "@tomoprior/volume"
import { LocalizeParams } from "./params.ts"
import { analyze, firstPrincipalComponent, organIntervals, type ScoredVolume } from "./analyze.ts"

export const localizeStage = defineStage({
  name: "localize",
  version: "1",
  description: "Scores every slice with a pre-trained encoder and localizes organs and partial scans along the axis without labels",
  source: import.meta.url,
  inputs: {
    encoder: { kind: "Encoder", description: "a pre-trained encoder (a score head is used directly; otherwise PC1 of embeddings)" },
    volumes: { kind: "VolumeSet", description: "volumes to score; their labels (if any) only grade the result" }
  },
  outputs: { localization: "Localization" },
  params: LocalizeParams,
  resources: { cpu: "all" },
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const compute = yield* Compute
      const backend = yield* compute.backend
      yield* ctx.log(backend.summary)

      const enc = yield* ctx.readIndex(ctx.inputs.encoder)
      const modelDir = join(ctx.inputs.encoder.dir, enc.model)
      const model = yield* compute
        .encoderModel(modelDir, enc.inputSize)
        .pipe(Effect.mapError((e) => (e._tag === "CheckpointError" ? new InputError({ file: modelDir, problem: e.message }) : e)))
      const hasScore = model.outputSize === 1

      const set = resolveVolumeSet(ctx.inputs.volumes.dir, yield* ctx.readIndex(ctx.inputs.volumes))
      const outputs: Array<Array<Float32Array>> = []
      const features: Array<Array<Float32Array> | undefined> = []
      const organs: Array<ReadonlyMap<number, readonly [number, number]>> = []
      for (const [n, v] of set.volumes.entries()) {
        const h = yield* openVolume(v.dir)
        const [Z, H, W] = h.header.dims
        const perSlice: Array<Float32Array> = []
        const featuresPerSlice: Array<Float32Array> = []
        for (let start = 0; start < Z; start += p.batchSize) {
          const zs = Array.from({ length: Math.min(p.batchSize, Z - start) }, (_, i) => start + i)
          const data = new Float32Array(zs.length * H * W)
          zs.forEach((z, i) => data.set(h.readSlice(z), i * H * W))
          const encoded = yield* model
            .encode({ data, count: zs.length, height: H, width: W })
            .pipe(
              Effect.mapError(
                (e) => new StageFailure({ stage: ctx.stageId, reason: `scoring ${v.entry.id} failed: ${e.reason}`, cause: e })
              )
            )
          perSlice.push(...encoded.outputs)
          if (encoded.features) featuresPerSlice.push(...encoded.features)
        }
        outputs.push(perSlice)
        features.push(featuresPerSlice.length > 0 ? featuresPerSlice : undefined)
        organs.push(organIntervals(labelPresence(h)))
        yield* ctx.progress({ done: n + 1, total: set.volumes.length, unit: "volumes" })
      }
      const scores = hasScore ? outputs.map((vol) => vol.map((e) => e[0])) : firstPrincipalComponent(outputs)
      const method = hasScore ? enc.method : `${enc.method} (PC1 of embeddings)`
      if (!hasScore) yield* ctx.log(`${enc.method} has no score head: scoring slices by the first principal component of their embeddings`)
      const scored: Array<ScoredVolume> = set.volumes.map((v, i) => {
        // a score model without the known score-map layer gives its score only: align on scores
        const described = hasScore ? features[i] : outputs[i]
        return { id: v.entry.id, scores: scores[i], organs: organs[i], ...(described ? { features: described } : {}) }
      })
      const index = analyze(scored, {
        method,
        labelNames: set.index.labelNames,
        partialLength: p.partialLength,
        seed: p.seed,
        maxReferences: p.references,
        smoothing: p.smoothing
      })
      yield* ctx.log(`multi-reference localizer: scans aligned on ${index.alignedOn}`)
      for (const row of index.summary ?? []) {
        if (row.labelId === null) yield* ctx.log(`interval IoU, ${row.name}: ${row.localizer} ${row.meanIoU.toFixed(3)}`)
      }
      yield* ctx.writeIndex("localization", index)
      yield* ctx.provenance({ backend: backend.backend, scoring: hasScore ? "score head" : "pc1" })
    }).pipe(Effect.scoped)
})

/** Which slices each foreground label appears on (empty for a volume without labels). */
const labelPresence = (h: VolumeHandle): Map<number, Array<boolean>> => {
  const presence = new Map<number, Array<boolean>>()
  if (!h.header.hasLabels) return presence
  const Z = h.header.dims[0]
  for (const label of h.header.labelIds.filter((l) => l !== 0)) presence.set(label, new Array<boolean>(Z).fill(false))
  for (let z = 0; z < Z; z++) {
    const labels = h.readLabelSlice(z)
    for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) presence.get(labels[i])![z] = true
  }
  return presence
}
