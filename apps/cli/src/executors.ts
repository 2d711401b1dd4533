import {
  type EventSink,
  EXECUTOR_KINDS,
  Executor,
  type ExecutorKind,
  type ResolvedPipeline,
  type SlurmUnavailable,
  type StageRegistry,
  type Store,
  slurmExecutor
} from "@tomoprior/runner"
import type { ComputeSettings } from "@tomoprior/core"
import { computeLayer } from "@tomoprior/compute/layer"
import { Layer } from "effect"
import { fileURLToPath } from "node:url"
import { UsageError } from "./command.ts"

/** The CLI's entry script: what a cluster job runs on its node (same path on the shared filesystem). */
export const BIN = fileURLToPath(new URL("../bin/tomoprior.js", import.meta.url))

export const executorFlag = (flag: string | undefined): ExecutorKind | undefined => {
  if (flag === undefined) return undefined
  if (!(EXECUTOR_KINDS as ReadonlyArray<string>).includes(flag))
    throw new UsageError({ message: `unknown executor '${flag}' (one of: ${EXECUTOR_KINDS.join(", ")})` })
  return flag as ExecutorKind
}

/**
 * The executor of a run: `--executor`, else the pipeline's `executor:`, else local. The local one
 * gets one Compute for the run (variants differ in params, not compute), so the backend is resolved
 * once, by the first stage that computes; a cluster job makes its own from the invocation.
 */
export const chooseExecutor = (
  flag: ExecutorKind | undefined,
  pipeline: ResolvedPipeline,
  runId: string
): Layer.Layer<Executor, SlurmUnavailable, StageRegistry | Store | EventSink> =>
  (flag ?? pipeline.executor?.kind ?? "local") === "slurm"
    ? slurmExecutor({ runId, command: [process.execPath, BIN], ...(pipeline.executor ? { settings: pipeline.executor } : {}) })
    : localExecutor(pipeline.compute)

/** The in-process executor with a Compute for `settings`. */
export const localExecutor = (settings: ComputeSettings): Layer.Layer<Executor, never, StageRegistry | EventSink> =>
  Executor.layerLocal.pipe(Layer.provide(computeLayer(settings)))
