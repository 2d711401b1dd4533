import { mkdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import * as tfl from "@tensorflow/tfjs-layers"
import { Effect, Schema } from "effect"
import "../models/batch-norm.ts"
import { CheckpointError, CheckpointMetadata } from "@tomoprior/core"

export const modelFile = "model.json"
export const weightsFile = "weights.bin"

const ModelJson = Schema.Struct({
  modelTopology: Schema.Record(Schema.String, Schema.Unknown),
  format: Schema.optional(Schema.String),
  weightsManifest: Schema.Array(
    Schema.Struct({
      paths: Schema.Array(Schema.String),
      weights: Schema.Array(Schema.Struct({ name: Schema.String, shape: Schema.Array(Schema.Number), dtype: Schema.String }))
    })
  ),
  userDefinedMetadata: Schema.Struct({ tomoprior: CheckpointMetadata })
})

const joinWeights = (data: tf.io.WeightData): ArrayBuffer => tf.io.CompositeArrayBuffer.join(data)

/** A tf.io handler over a directory (model.json + weights.bin), for hosts without tfjs-node. */
export const directoryHandler = (dir: string, metadata?: CheckpointMetadata): tf.io.IOHandler => ({
  save: async (artifacts) => {
    if (metadata === undefined) throw new Error("directoryHandler: saving needs metadata")
    const weights = joinWeights(artifacts.weightData ?? new ArrayBuffer(0))
    const json = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      userDefinedMetadata: { tomoprior: metadata }
    }
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, weightsFile), new Uint8Array(weights))
    await writeFile(join(dir, modelFile), JSON.stringify(json))
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) }
  },
  load: async () => {
    const json = JSON.parse(await readFile(join(dir, modelFile), "utf8")) as tf.io.ModelJSON
    return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
      const specs = manifest.flatMap((group) => group.weights)
      const buffers = await Promise.all(
        manifest
          .flatMap((group) => group.paths)
          .map(async (p) => {
            const bytes = await readFile(join(dir, p))
            return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
          })
      )
      return [specs, buffers.length === 1 ? buffers[0] : buffers]
    })
  }
})

/** Writes a model in the standard tfjs layers format, with our metadata, to `dir`. */
export const saveCheckpoint = (model: tfl.LayersModel, dir: string, metadata: CheckpointMetadata) =>
  Effect.tryPromise({
    try: () => model.save(directoryHandler(dir, metadata)),
    catch: (cause) => new CheckpointError({ path: dir, problem: `cannot write: ${String(cause)}` })
  }).pipe(Effect.asVoid)

/** Reads our metadata without building the model. */
export const readCheckpointMetadata = (dir: string) =>
  Effect.gen(function* () {
    const path = join(dir, modelFile)
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (cause) => new CheckpointError({ path, problem: `cannot read: ${String(cause)}` })
    })
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => new CheckpointError({ path, problem: "not valid JSON" })
    })
    const json = yield* Schema.decodeUnknownEffect(ModelJson)(parsed).pipe(
      Effect.mapError((e) => new CheckpointError({ path, problem: `not a tomoprior tfjs checkpoint: ${e.message}` }))
    )
    return json.userDefinedMetadata.tomoprior
  })

/** Loads a checkpoint on the current backend (whatever backend saved it). */
export const loadCheckpoint = (dir: string) =>
  Effect.gen(function* () {
    const metadata = yield* readCheckpointMetadata(dir)
    const model = yield* Effect.tryPromise({
      try: () => tfl.loadLayersModel(directoryHandler(dir)),
      catch: (cause) => new CheckpointError({ path: dir, problem: `cannot load the model: ${String(cause)}` })
    })
    return { model, metadata }
  })
