import { Effect, type Scope } from "effect"
import type { ArtifactRef, EncoderIndex } from "./artifacts.ts"
import { Compute, type ComputeError, type EncoderModel, type Encoding } from "./compute.ts"
import { type BackendUnavailable, InputError } from "./errors.ts"

/**
 * The model of an Encoder artifact loaded through Compute (disposed with the scope); a checkpoint
 * it cannot read is an InputError naming the model directory.
 */
export const artifactEncoder = (
  encoder: ArtifactRef<"Encoder">,
  index: EncoderIndex
): Effect.Effect<EncoderModel, InputError | BackendUnavailable, Compute | Scope.Scope> =>
  Effect.gen(function* () {
    const modelDir = `${encoder.dir}/${index.model}`
    return yield* (yield* Compute)
      .encoderModel(modelDir, index.inputSize)
      .pipe(Effect.mapError((e) => (e._tag === "CheckpointError" ? new InputError({ file: modelDir, problem: e.message }) : e)))
  })

/** A volume as an encoder reads it: [z, y, x] sizes and slice z as float32 (y · x values). */
export interface SliceReader<E, R> {
  readonly dims: readonly [number, number, number]
  readonly slice: (z: number) => Effect.Effect<Float32Array, E, R>
}

/**
 * Every slice of a volume through an encoder, `batchSize` slices per call: one output row per
 * slice, and one pooled-feature row when the model yields them. Only one batch is held at a time.
 */
export const encodeSlices = <E, R>(
  model: EncoderModel,
  volume: SliceReader<E, R>,
  batchSize: number
): Effect.Effect<Encoding, E | ComputeError, R> =>
  Effect.gen(function* () {
    const [depth, height, width] = volume.dims
    const outputs: Array<Float32Array> = []
    const features: Array<Float32Array> = []
    for (let start = 0; start < depth; start += batchSize) {
      const count = Math.min(batchSize, depth - start)
      const data = new Float32Array(count * height * width)
      for (let i = 0; i < count; i++) data.set(yield* volume.slice(start + i), i * height * width)
      const encoded = yield* model.encode({ data, count, height, width })
      outputs.push(...encoded.outputs)
      if (encoded.features) features.push(...encoded.features)
    }
    return depth > 0 && features.length === depth ? { outputs, features } : { outputs }
  })
