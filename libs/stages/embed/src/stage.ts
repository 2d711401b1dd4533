import { Effect } from "effect"
import { artifactEncoder, Compute, defineStage, encodeSlices, StageFailure } from "@tomoprior/core"
import { openVolume, resolveVolumeSet } from "@tomoprior/volume"
import { embeddingFiles, type VolumeEmbedding, volumeEmbedding } from "./embeddings.ts"
import { EmbedParams } from "./params.ts"

export const embedStage = defineStage({
  name: "embed",
  version: "1",
  description: "Every slice's embedding (and score) from an encoder, as .npy files and one CSV, with a 2D PCA projection",
  source: import.meta.url,
  inputs: {
    encoder: { kind: "Encoder", description: "a pre-trained encoder" },
    volumes: { kind: "VolumeSet", description: "volumes whose slices to embed (normalized as the encoder was trained)" }
  },
  outputs: { embeddings: "Embeddings" },
  params: EmbedParams,
  resources: { cpu: "all" },
  run: (ctx) =>
    Effect.gen(function* () {
      const compute = yield* Compute
      const backend = yield* compute.backend
      yield* ctx.log(backend.summary)
      const enc = yield* ctx.readIndex(ctx.inputs.encoder)
      const model = yield* artifactEncoder(ctx.inputs.encoder, enc)
      const set = resolveVolumeSet(ctx.inputs.volumes.dir, yield* ctx.readIndex(ctx.inputs.volumes))
      const embedded: Array<VolumeEmbedding> = []
      for (const [n, v] of set.volumes.entries()) {
        const h = yield* openVolume(v.dir)
        const encoding = yield* encodeSlices(
          model,
          { dims: h.header.dims, slice: (z) => Effect.succeed(h.readSlice(z)) },
          ctx.params.batchSize
        ).pipe(
          Effect.mapError((e) => new StageFailure({ stage: ctx.stageId, reason: `encoding ${v.entry.id} failed: ${e.reason}`, cause: e }))
        )
        embedded.push(volumeEmbedding(v.entry.id, encoding, model.outputSize))
        yield* ctx.progress({ done: n + 1, total: set.volumes.length, unit: "volumes" })
      }
      const { files, index } = embeddingFiles(enc.method, embedded)
      for (const f of files) yield* ctx.writeFile("embeddings", f.path, f.data)
      yield* ctx.writeIndex("embeddings", { kind: "Embeddings", ...index })
      const [pc1, pc2] = index.explainedVariance.map((v) => (100 * v).toFixed(1))
      yield* ctx.log(
        `${embedded.length} volumes, ${index.dims} numbers per slice; PC1 and PC2 explain ${pc1} % and ${pc2} % of the variance`
      )
      yield* ctx.provenance({ backend: backend.backend })
    }).pipe(Effect.scoped)
})
