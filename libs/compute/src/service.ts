import { type BackendInfo, type BackendUnavailable, Compute, type ComputeSettings } from "@tomoprior/core"
import { Effect } from "effect"
export { initBackend } from "./backend/init.ts"
import { readCheckpointMetadata } from "./checkpoint/checkpoint.ts"
import { checkpointToOnnx } from "./export/onnx.ts"
import { encoderModel, resizeSlices, segmentationModel } from "./inference.ts"
import { makeTrainer } from "./parallel/trainer.ts"

/**
 * The tfjs implementation of core's Compute. `backend` is the one resolution of a run: it starts
 * the requested backend in this process on first use (`auto` picks one) and every later call, the
 * trainer's workers included, uses what it found.
 */
export const makeCompute = (settings: ComputeSettings, backend: Effect.Effect<BackendInfo, BackendUnavailable>): Compute["Service"] =>
  Compute.of({
    settings,
    backend,
    trainer: (options) =>
      Effect.flatMap(backend, (info) => makeTrainer({ ...options, compute: { backend: info.backend, threads: settings.threads } })),
    checkpointMetadata: readCheckpointMetadata,
    segmentationModel: (dir, inputSize) => Effect.andThen(backend, segmentationModel(dir, inputSize)),
    encoderModel: (dir, inputSize) => Effect.andThen(backend, encoderModel(dir, inputSize)),
    onnx: (dir, inputSize) => Effect.andThen(backend, checkpointToOnnx(dir, inputSize)),
    resize: (batch, size, method) => Effect.andThen(backend, resizeSlices(batch, size, method))
  })
