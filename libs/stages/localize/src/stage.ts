import { Effect, Schema } from "effect"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { defineStage, EncoderIndex, INDEX_FILE, InputError, readArtifactIndex, StageFailure } from "@tomoprior/core"
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
  params: Schema.Struct({
    batchSize: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
    /** Length of each partial scan, as a share of its volume. */
    partialLength: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0), Schema.isLessThan(1))),
    /** "isotonic" (default): localize on a monotone fit of each volume's scores; "none": raw scores. */
    smoothing: Schema.optional(Schema.Literals(["isotonic", "none"])),
    seed: Schema.optional(Schema.Int),
    /** Most reference volumes each query is located from at once (default 20; every other one when fewer). */
    references: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
  }),
  resources: { cpu: "all" },
  run: (ctx) =>
    Effect.gen(function* () {
      const batchSize = ctx.params.batchSize ?? 32
      const compute = yield* Effect.promise(() => import("@tomoprior/compute"))
      const volume = yield* Effect.promise(() => import("@tomoprior/volume"))
      const tf = yield* Effect.promise(() => import("@tensorflow/tfjs-core"))
      const backend = yield* compute.initBackend(ctx.compute, { log: () => {} })

      const enc = yield* readArtifactIndex(ctx.inputs.encoder.dir, "Encoder", EncoderIndex)
      const modelDir = join(ctx.inputs.encoder.dir, enc.model)
      const { model } = yield* compute
        .loadCheckpoint(modelDir)
        .pipe(Effect.mapError((e) => new InputError({ file: modelDir, problem: e.message })))
      const outShape = model.outputs[0].shape
      const hasScore = outShape[outShape.length - 1] === 1
      const size = enc.inputSize
      // A score head reads the encoder's features; averaged over space they describe a slice far
      // better than its one score, so the multi-reference localizer aligns scans on them.
      const tfl = yield* Effect.promise(() => import("@tensorflow/tfjs-layers"))
      const scoreMap = hasScore ? model.layers.find((l) => l.name === compute.scoreMapLayer) : undefined
      const pooled =
        scoreMap && (tfl.layers.globalAveragePooling2d({}).apply(scoreMap.input) as import("@tensorflow/tfjs-layers").SymbolicTensor)
      const net = pooled ? tfl.model({ inputs: model.inputs, outputs: [model.outputs[0], pooled] }) : model

      const set = yield* volume.readVolumeSet(ctx.inputs.volumes.dir)
      const outputs: Array<Array<Float32Array>> = []
      const features: Array<Array<Float32Array>> = []
      const organs: Array<ReadonlyMap<number, readonly [number, number]>> = []
      for (const [n, v] of set.volumes.entries()) {
        const h = yield* volume.openVolume(v.dir)
        const [Z, H, W] = h.header.dims
        const perSlice: Array<Float32Array> = []
        const featuresPerSlice: Array<Float32Array> = []
        for (let start = 0; start < Z; start += batchSize) {
          const zs = Array.from({ length: Math.min(batchSize, Z - start) }, (_, i) => start + i)
          const out = yield* Effect.try({
            try: () =>
              tf.tidy(() => {
                const pixels = new Float32Array(zs.length * H * W)
                zs.forEach((z, i) => pixels.set(h.readSlice(z), i * H * W))
                const batch = tf.tensor4d(pixels, [zs.length, H, W, 1])
                const input = H === size && W === size ? batch : tf.image.resizeBilinear(batch, [size, size])
                const ys = [net.predict(input)].flat() as Array<import("@tensorflow/tfjs-core").Tensor2D>
                return ys.map((y) => {
                  const d = y.shape[1]
                  const values = y.dataSync()
                  return zs.map((_, i) => values.slice(i * d, (i + 1) * d) as Float32Array)
                })
              }),
            catch: (e) => new StageFailure({ stage: ctx.stageId, reason: `scoring ${v.entry.id} failed: ${String(e)}`, cause: e })
          })
          perSlice.push(...out[0])
          featuresPerSlice.push(...(out[1] ?? out[0]))
        }
        outputs.push(perSlice)
        features.push(featuresPerSlice)
        const presence = new Map<number, Array<boolean>>()
        if (h.header.hasLabels) {
          for (const label of h.header.labelIds.filter((l) => l !== 0)) presence.set(label, new Array<boolean>(Z).fill(false))
          for (let z = 0; z < Z; z++) {
            const labels = h.readLabelSlice(z)
            for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) presence.get(labels[i])![z] = true
          }
        }
        organs.push(organIntervals(presence))
        yield* ctx.progress({ done: n + 1, total: set.volumes.length, unit: "volumes" })
      }
      model.dispose()
      const scores = hasScore ? outputs.map((vol) => vol.map((e) => e[0])) : firstPrincipalComponent(outputs)
      const method = hasScore ? enc.method : `${enc.method} (PC1 of embeddings)`
      if (!hasScore) yield* ctx.log(`${enc.method} has no score head: scoring slices by the first principal component of their embeddings`)
      const scored: Array<ScoredVolume> = set.volumes.map((v, i) => ({
        id: v.entry.id,
        scores: scores[i],
        organs: organs[i],
        // a score model without the known score-map layer gives its score only: align on scores
        ...(hasScore && !pooled ? {} : { features: features[i] })
      }))
      const index = analyze(scored, {
        method,
        labelNames: set.index.labelNames,
        partialLength: ctx.params.partialLength ?? 0.3,
        seed: ctx.params.seed ?? 0,
        maxReferences: ctx.params.references ?? 20,
        smoothing: ctx.params.smoothing ?? "isotonic"
      })
      yield* ctx.log(`multi-reference localizer: scans aligned on ${index.alignedOn}`)
      for (const row of index.summary ?? []) {
        if (row.labelId === null) yield* ctx.log(`interval IoU, ${row.name}: ${row.localizer} ${row.meanIoU.toFixed(3)}`)
      }
      yield* Effect.promise(() => writeFile(join(ctx.outputs.localization, INDEX_FILE), JSON.stringify(index, null, 1)))
      yield* ctx.provenance({ backend: backend.backend, scoring: hasScore ? "score head" : "pc1" })
    }).pipe(Effect.scoped)
})
