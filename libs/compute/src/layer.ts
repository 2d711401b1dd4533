import { Compute, type ComputeSettings } from "@tomoprior/core"
import { Effect, Layer } from "effect"
import type { InitOptions } from "./backend/init.ts"

/**
 * The Compute a run gives its stages, for settings resolved from `--backend`, TOMOPRIOR_BACKEND and
 * the pipeline's `compute:`. This module is light on purpose: tfjs and the implementation load on
 * the first operation, so `plan`, `dag` and fully cached runs never pay for them. The backend's
 * one-line summary is not printed here (default `log`): stages log it through their context. Its
 * notice (how to get the native kernels when `auto` ran without them) is printed once, when the
 * first trainer starts (to `log`, default stderr).
 */
export const computeLayer = (settings: ComputeSettings, options: InitOptions = {}): Layer.Layer<Compute> =>
  Layer.effect(
    Compute,
    Effect.gen(function* () {
      const implementation = yield* Effect.cached(Effect.promise(() => import("./service.ts")))
      const backend = yield* Effect.cached(Effect.flatMap(implementation, (m) => m.initBackend(settings, { log: () => {}, ...options })))
      const compute = yield* Effect.cached(Effect.map(implementation, (m) => m.makeCompute(settings, backend)))
      const log = options.log ?? ((line: string) => console.error(line))
      const noticeOnce = yield* Effect.cached(
        Effect.flatMap(backend, ({ notice }) => (notice === undefined ? Effect.void : Effect.sync(() => log(notice))))
      )
      return Compute.of({
        settings,
        backend,
        trainer: (o) =>
          Effect.andThen(
            noticeOnce,
            Effect.flatMap(compute, (c) => c.trainer(o))
          ),
        checkpointMetadata: (dir) => Effect.flatMap(compute, (c) => c.checkpointMetadata(dir)),
        segmentationModel: (dir, size) => Effect.flatMap(compute, (c) => c.segmentationModel(dir, size)),
        encoderModel: (dir, size) => Effect.flatMap(compute, (c) => c.encoderModel(dir, size)),
        onnx: (dir, size) => Effect.flatMap(compute, (c) => c.onnx(dir, size)),
        resize: (batch, size, method) => Effect.flatMap(compute, (c) => c.resize(batch, size, method))
      })
    })
  )
