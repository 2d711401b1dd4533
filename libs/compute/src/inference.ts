import * as tf from "@tensorflow/tfjs-core"
import { type CheckpointError, ComputeError, type EncoderModel, type SegmentationModel, type SliceBatch } from "@tomoprior/core"
import { Effect, type Scope } from "effect"
import { loadCheckpoint } from "./checkpoint/checkpoint.ts"
import { withPooledFeatures } from "./models/heads.ts"
import { encoderPrefix } from "./models/zoo.ts"

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Runs synchronous tensor code as an Effect whose throw is a ComputeError for `operation`. */
const tensorWork = <A>(operation: string, run: () => A): Effect.Effect<A, ComputeError> =>
  Effect.try({ try: run, catch: (e) => new ComputeError({ operation, reason: errorText(e) }) })

const asTensor = (batch: SliceBatch): tf.Tensor4D => tf.tensor4d(batch.data, [batch.count, batch.height, batch.width, 1])

const resizedTo = (x: tf.Tensor4D, size: number): tf.Tensor4D =>
  x.shape[1] === size && x.shape[2] === size ? x : tf.image.resizeBilinear(x, [size, size])

/** A checkpoint loaded on the current backend, disposed when the scope closes. */
const loadScoped = (dir: string) => Effect.acquireRelease(loadCheckpoint(dir), ({ model }) => Effect.sync(() => model.dispose()))

/** The checkpoint in `dir` as a segmentation model taking `inputSize`² slices. */
export const segmentationModel = (dir: string, inputSize: number): Effect.Effect<SegmentationModel, CheckpointError, Scope.Scope> =>
  Effect.map(loadScoped(dir), ({ model, metadata }) => ({
    metadata,
    classes: (batch) =>
      tensorWork("segmentation", () =>
        tf.tidy(() => {
          const logits = model.predict(resizedTo(asTensor(batch), inputSize)) as tf.Tensor4D
          const sameSize = batch.height === inputSize && batch.width === inputSize
          const sized = sameSize ? logits : tf.image.resizeBilinear(logits, [batch.height, batch.width])
          return Uint8Array.from(tf.argMax(sized, -1).dataSync())
        })
      )
  }))

/**
 * The checkpoint in `dir` as an encoder taking `inputSize`² slices. A model with a head (a score or
 * SimCLR projection model) also yields its encoder's pooled last-stage features: they describe a slice
 * far better than one score, and are what SimCLR's representation is (the projection serves the loss).
 */
export const encoderModel = (dir: string, inputSize: number): Effect.Effect<EncoderModel, CheckpointError, Scope.Scope> =>
  Effect.map(loadScoped(dir), ({ model, metadata }) => {
    const outShape = model.outputs[0].shape
    const outputSize = outShape[outShape.length - 1] ?? 0
    const headless = model.outputLayers[0]?.name === `${encoderPrefix}pool`
    // shares the model's layers, so the scope's dispose of `model` frees its weights too
    const net = headless ? model : withPooledFeatures(model)
    return {
      metadata,
      outputSize,
      encode: (batch) =>
        tensorWork("encoding", () =>
          tf.tidy(() => {
            const y = net.predict(resizedTo(asTensor(batch), inputSize)) as tf.Tensor2D
            const width = y.shape[1]
            const values = y.dataSync()
            const row = (i: number, from: number, to: number) => values.slice(i * width + from, i * width + to) as Float32Array
            const outputs = Array.from({ length: batch.count }, (_, i) => row(i, 0, outputSize))
            if (headless) return { outputs }
            return { outputs, features: Array.from({ length: batch.count }, (_, i) => row(i, outputSize, width)) }
          })
        )
    }
  })

/** Slices resized to size × size with tfjs' bilinear or nearest-neighbor resize (the models' own). */
export const resizeSlices = (batch: SliceBatch, size: number, method: "bilinear" | "nearest"): Effect.Effect<Float32Array, ComputeError> =>
  tensorWork("resize", () =>
    tf.tidy(() => {
      const x = asTensor(batch)
      const y = method === "bilinear" ? tf.image.resizeBilinear(x, [size, size]) : tf.image.resizeNearestNeighbor(x, [size, size])
      return y.dataSync() as Float32Array
    })
  )
