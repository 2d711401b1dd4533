import { Effect } from "effect"
import type { EpochRecord, Progress } from "@tomoprior/core"
import { StageFailure } from "@tomoprior/core"
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts"

export interface LoopSettings {
  readonly stage: string
  readonly totalSteps: number
  readonly stepsPerEpoch: number
  readonly checkpointEvery: number
  /** Distinct slices per step (for the rate; views do not count twice). */
  readonly slicesPerStep: number
  /** Where checkpoints live; survives an interrupted attempt. */
  readonly workDir: string
}

export interface LoopHooks<S extends object> {
  /**
   * Trains on the batch of `step` (0-based; a pure function of it); returns the loss and any live
   * figures worth streaming with it (e.g. tensor counts).
   */
  readonly step: (step: number) => Effect.Effect<{ readonly loss: number; readonly live?: Record<string, number> }, StageFailure>
  readonly getState: Effect.Effect<S, StageFailure>
  readonly setState: (state: S) => Effect.Effect<void, StageFailure>
  /** Held-out metrics of the current weights. */
  readonly validate: Effect.Effect<Record<string, number>, StageFailure>
  readonly log: (message: string) => Effect.Effect<void>
  readonly progress: (p: Progress) => Effect.Effect<void>
}

/** What the loop carries from one checkpoint to the next. */
interface LoopState {
  readonly step: number
  readonly history: ReadonlyArray<EpochRecord>
  /** Metrics of the randomly initialized model (step 0). */
  readonly untrained: Record<string, number>
  readonly epochLoss: number
  readonly epochSteps: number
}

export interface LoopResult {
  readonly steps: number
  readonly history: ReadonlyArray<EpochRecord>
  readonly untrained: Record<string, number>
  readonly final: Record<string, number>
}

/**
 * Steps a trainer through a fixed schedule with checkpoints and per-epoch validation. Batches are a
 * pure function of the step, and the checkpoint holds the full optimizer state, so a run resumed
 * from step K ends where an uninterrupted run would.
 */
export const runTrainingLoop = <S extends object>(settings: LoopSettings, hooks: LoopHooks<S>): Effect.Effect<LoopResult, StageFailure> =>
  Effect.gen(function* () {
    const fail = (what: string) => (e: unknown) =>
      new StageFailure({ stage: settings.stage, reason: `${what}: ${e instanceof Error ? e.message : String(e)}`, cause: e })
    const attempt = <A>(what: string, f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: fail(what) })

    const saved = yield* attempt("cannot read the checkpoint", () => readCheckpoint<LoopState, S>(settings.workDir))
    let state: LoopState
    if (saved !== undefined && saved.loop.step <= settings.totalSteps) {
      yield* hooks.setState(saved.state)
      state = saved.loop
      yield* hooks.log(`resuming from step ${state.step}`)
    } else {
      const untrained = yield* hooks.validate
      yield* hooks.log(`untrained: ${formatMetrics(untrained)}`)
      state = { step: 0, history: [], untrained, epochLoss: 0, epochSteps: 0 }
    }

    const started = performance.now()
    const firstStep = state.step
    let lastValidation: Record<string, number> = state.history.at(-1)?.metrics ?? state.untrained
    while (state.step < settings.totalSteps) {
      // Interruptible: an interrupted step stops the trainer, and only completed steps ever reach a
      // checkpoint, so a resumed run still ends where an uninterrupted one would.
      const { loss, live } = yield* hooks.step(state.step)
      if (!Number.isFinite(loss)) return yield* fail("training diverged")(`loss ${loss} at step ${state.step + 1}; lower the learning rate`)
      const step = state.step + 1
      state = { ...state, step, epochLoss: state.epochLoss + loss, epochSteps: state.epochSteps + 1 }
      const seconds = (performance.now() - started) / 1000
      const rate = ((step - firstStep) * settings.slicesPerStep) / Math.max(seconds, 1e-9)
      const eta = ((settings.totalSteps - step) * settings.slicesPerStep) / Math.max(rate, 1e-9)
      yield* hooks.progress({
        done: step,
        total: settings.totalSteps,
        unit: "steps",
        metrics: { loss, slicesPerSecond: rate, etaSeconds: eta, ...live }
      })

      if (step % settings.stepsPerEpoch === 0 || step === settings.totalSteps) {
        lastValidation = yield* hooks.validate
        const record: EpochRecord = {
          epoch: Math.ceil(step / settings.stepsPerEpoch),
          step,
          loss: state.epochLoss / state.epochSteps,
          // Not the rate: the encoder would differ from run to run with the machine's load (it is in the progress and the log).
          metrics: { ...lastValidation }
        }
        state = { ...state, history: [...state.history, record], epochLoss: 0, epochSteps: 0 }
        yield* hooks.log(
          `epoch ${record.epoch} (step ${step}): loss ${record.loss.toFixed(4)}, ${formatMetrics(lastValidation)}, ${rate.toFixed(1)} slices/s`
        )
      }
      if (step % settings.checkpointEvery === 0 && step < settings.totalSteps) {
        const trainerState = yield* hooks.getState
        const snapshot = state
        yield* attempt("cannot write the checkpoint", () => writeCheckpoint(settings.workDir, snapshot, trainerState))
      }
      yield* Effect.yieldNow
    }
    const final: Record<string, number> = { ...lastValidation }
    for (const [k, v] of Object.entries(state.untrained)) final[`untrained_${k}`] = v
    return { steps: state.step, history: state.history, untrained: state.untrained, final }
  })

const formatMetrics = (m: Record<string, number>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${v.toFixed(3)}`)
    .join(", ")
