import { Effect } from "effect"
import {
  artifactEncoder,
  Compute,
  defineStage,
  encodeSlices,
  type EncoderModel,
  type Encoding,
  type LocatedScan,
  StageFailure
} from "@tomoprior/core"
import { openVolume, resolveVolumeSet, type VolumeHandle } from "@tomoprior/volume"
import { LocalizeParams } from "./params.ts"
import { analyze, firstPrincipalComponent, organIntervals, type ScoredVolume } from "./analyze.ts"
import { type DescribedScan, locateInReference } from "./locate.ts"

export const localizeStage = defineStage({
  name: "localize",
  version: "1",
  description: "Scores every slice with a pre-trained encoder and localizes organs and partial scans along the axis without labels",
  source: import.meta.url,
  inputs: {
    encoder: { kind: "Encoder", description: "a pre-trained encoder (a score head is used directly; otherwise PC1 of embeddings)" },
    volumes: { kind: "VolumeSet", description: "volumes to score; their labels (if any) only grade the result" },
    reference: {
      kind: "VolumeSet",
      optional: true,
      description: "full scans to locate every volume in (slice offset, scale, confidence), as `tomoprior locate` does"
    }
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
      const model = yield* artifactEncoder(ctx.inputs.encoder, enc)
      const hasScore = model.outputSize === 1

      const set = resolveVolumeSet(ctx.inputs.volumes.dir, yield* ctx.readIndex(ctx.inputs.volumes))
      const references = ctx.inputs.reference
        ? resolveVolumeSet(ctx.inputs.reference.dir, yield* ctx.readIndex(ctx.inputs.reference))
        : undefined
      const total = set.volumes.length + (references?.volumes.length ?? 0)
      const outputs: Array<ReadonlyArray<Float32Array>> = []
      const features: Array<ReadonlyArray<Float32Array> | undefined> = []
      const organs: Array<ReadonlyMap<number, readonly [number, number]>> = []
      const described: Array<DescribedScan> = []
      for (const [n, v] of set.volumes.entries()) {
        const h = yield* openVolume(v.dir)
        const encoded = yield* encodeStored(model, h, v.entry.id, p.batchSize, ctx.stageId)
        outputs.push(encoded.outputs)
        features.push(encoded.features)
        described.push(describedScan(v.entry.id, h, encoded))
        organs.push(organIntervals(labelPresence(h)))
        yield* ctx.progress({ done: n + 1, total, unit: "volumes" })
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
      const located: Array<LocatedScan> = []
      for (const [n, r] of (references?.volumes ?? []).entries()) {
        const h = yield* openVolume(r.dir)
        const reference = describedScan(r.entry.id, h, yield* encodeStored(model, h, r.entry.id, p.batchSize, ctx.stageId))
        for (const scan of described) {
          const found = locateInReference(scan, reference)
          if (!found) {
            yield* ctx.log(`${scan.name} in ${reference.name}: too few slices to place (each needs at least 2)`)
            continue
          }
          located.push(found)
          const at = `${+found.offset.toFixed(2)} … ${+found.lastSlice.toFixed(2)}`
          yield* ctx.log(`${scan.name} sits at ${reference.name} slices ${at} (confidence ${found.confidence.toFixed(2)})`)
        }
        yield* ctx.progress({ done: set.volumes.length + n + 1, total, unit: "volumes" })
      }
      yield* ctx.writeIndex("localization", references ? { ...index, located } : index)
      yield* ctx.provenance({ backend: backend.backend, scoring: hasScore ? "score head" : "pc1" })
    }).pipe(Effect.scoped)
})

/** Every slice of a stored volume through the encoder; a failure names the volume. */
const encodeStored = (model: EncoderModel, h: VolumeHandle, id: string, batchSize: number, stage: string) =>
  encodeSlices(model, { dims: h.header.dims, slice: (z) => Effect.succeed(h.readSlice(z)) }, batchSize).pipe(
    Effect.mapError((e) => new StageFailure({ stage, reason: `encoding ${id} failed: ${e.reason}`, cause: e }))
  )

/** A stored volume's slice spacing counts when its orientation is known (a TIFF's 1 mm is a placeholder). */
const describedScan = (name: string, h: VolumeHandle, encoding: Encoding): DescribedScan => ({
  name,
  encoding,
  ...(h.header.axisCodes.includes("?") ? {} : { sliceSpacing: h.header.spacing[0] })
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
