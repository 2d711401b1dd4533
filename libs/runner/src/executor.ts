import {
  type ArtifactRef,
  Compute,
  type ComputeSettings,
  makeStageContext,
  type Progress,
  type ResolvedInputs,
  type StageError,
  type StageFiles
} from "@tomoprior/core"
import { Context, Effect, Layer, Schema } from "effect"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { dirname } from "node:path"
import { EventSink } from "./events.ts"
import { StageRegistry } from "./registry.ts"
import type { SlurmOptions } from "./slurm/options.ts"

const PROGRESS_EVERY_MS = 250

/**
 * One run of one stage, as plain data: it names the stage type instead of holding its code, so an
 * executor can hand it to another process or a cluster job that sees the store's filesystem and
 * loads the same stage type from the workspace and `plugins`.
 */
export interface StageInvocation {
  readonly pipeline: string
  /** Relative paths in params and `plugins` resolve against it. */
  readonly pipelineDir: string
  readonly plugins: ReadonlyArray<string>
  readonly stageId: string
  /** The stage type's name. */
  readonly uses: string
  /** Cache key of this run. */
  readonly key: string
  /** Decoded params (defaults applied); JSON-representable, as they are part of the cache key. */
  readonly params: unknown
  /** Input port → artifact; a list for `many` ports, undefined for an unwired optional port. */
  readonly inputs: Readonly<Record<string, ArtifactRef | ReadonlyArray<ArtifactRef> | undefined>>
  /** Output port → empty directory the stage fills. */
  readonly outputs: Readonly<Record<string, string>>
  /** Scratch space that survives an interrupted attempt with the same key. */
  readonly workDir: string
  /**
   * Resolved from the CLI, the environment and the pipeline; an executor in another process makes
   * its Compute from these (the local one is given the run's).
   */
  readonly compute: ComputeSettings
  /** What the stage asks of the machine that runs it. */
  readonly resources: InvocationResources
}

export interface InvocationResources {
  /** The stage type's `resources.cpu` ("all" for training). */
  readonly cpu: "all" | 1
  /** Job settings for a cluster executor: the pipeline's `slurm:` block with the stage's over it. */
  readonly slurm: SlurmOptions
}

export interface StageResult {
  /** Facts the stage reported for its outputs' provenance (backend, versions, seeds…). */
  readonly provenance: Readonly<Record<string, unknown>>
}

/** The executor cannot find or start the stage type an invocation names. */
export class StageUnavailable extends Schema.TaggedError<StageUnavailable>()("StageUnavailable", {
  uses: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `stage type \`${this.uses}\` cannot be run: ${this.reason}`
  }
}

/**
 * The executor ran the stage elsewhere and it did not finish: a cluster job that failed, timed out,
 * was cancelled or lost its node. Says where (job id, state, log) and what the log said last.
 */
export class ExecutorFailure extends Schema.TaggedError<ExecutorFailure>()("ExecutorFailure", {
  stage: Schema.String,
  /** e.g. "slurm job 42 TIMEOUT (exit 0:15)". */
  where: Schema.String,
  /** The stage's own error message when it reported one before ending. */
  reason: Schema.String,
  log: Schema.optional(Schema.String),
  logTail: Schema.Array(Schema.String),
  hint: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const tail = this.logTail.length ? `\n  last lines of the log:\n${this.logTail.map((l) => `    ${l}`).join("\n")}` : ""
    return `${this.reason}\n  ${this.where}${this.log ? `; log: ${this.log}` : ""}${tail}` + (this.hint ? `\n  hint: ${this.hint}` : "")
  }
}

/**
 * Runs stage invocations. The runner decides what runs, where outputs go and what is committed; an
 * executor only runs a stage into the directories it is given, reporting progress and log lines to
 * the EventSink. Interrupting `run` must stop the stage.
 */
export class Executor extends Context.Service<
  Executor,
  {
    readonly run: (invocation: StageInvocation) => Effect.Effect<StageResult, StageError | StageUnavailable | ExecutorFailure>
    /**
     * Set by an executor whose stages get their own machines (a cluster): how many may run at
     * once, each taking one slot. Without it, stages share this machine's slots and a stage with
     * `resources.cpu: "all"` takes all of them.
     */
    readonly concurrency?: number
  }
>()("@tomoprior/runner/Executor") {
  /** Runs each stage in this process, as a fiber of the run, with the run's Compute. */
  static readonly layerLocal: Layer.Layer<Executor, never, StageRegistry | EventSink | Compute> = Layer.effect(
    Executor,
    Effect.gen(function* () {
      const registry = yield* StageRegistry
      const sink = yield* EventSink
      const compute = yield* Compute
      return Executor.of({
        run: (invocation) => runInProcess(invocation, registry, sink).pipe(Effect.provideService(Compute, compute))
      })
    })
  )
}

/** Node's file system under a stage context. */
export const nodeStageFiles: StageFiles = {
  read: (file) => readFile(file),
  write: async (file, data) => {
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, data)
  }
}

const runInProcess = (inv: StageInvocation, registry: StageRegistry["Service"], sink: EventSink["Service"]) =>
  Effect.gen(function* () {
    const { types } = yield* registry.forPipeline({ plugins: inv.plugins, pipelineDir: inv.pipelineDir })
    const stage = types.get(inv.uses)
    if (!stage)
      return yield* new StageUnavailable({
        uses: inv.uses,
        reason: "neither the pipeline's plugins nor the built-in stages provide it"
      })
    const provenance: Record<string, unknown> = {}
    let lastProgress = 0
    const ctx = makeStageContext(
      stage,
      {
        pipeline: inv.pipeline,
        pipelineDir: inv.pipelineDir,
        stageId: inv.stageId,
        params: inv.params,
        inputs: inv.inputs as ResolvedInputs<any>,
        outputs: inv.outputs,
        workDir: inv.workDir,
        progress: (pr: Progress) =>
          Effect.suspend(() => {
            const now = Date.now()
            if (now - lastProgress < PROGRESS_EVERY_MS && pr.done !== pr.total) return Effect.void
            lastProgress = now
            return sink.emit({ type: "stage-progress", stage: inv.stageId, ...pr })
          }),
        log: (message: string) => sink.emit({ type: "stage-log", stage: inv.stageId, message }),
        provenance: (facts) => Effect.sync(() => void Object.assign(provenance, facts))
      },
      nodeStageFiles
    )
    yield* stage.run(ctx)
    return { provenance }
  })
