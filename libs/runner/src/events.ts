import { Context, Effect, Layer } from "effect"

/** What a run reports, in order. The CLI renders these; `--json` prints each as one line. */
export type RunEvent =
  | {
      readonly type: "run-start"
      readonly pipeline: string
      /** The `--set` variant being run, e.g. `sorting.margin=0.5`. */
      readonly variant?: string
      readonly runId: string
      readonly store: string
      readonly stages: ReadonlyArray<string>
    }
  | { readonly type: "notice"; readonly message: string }
  | {
      readonly type: "stage-start"
      readonly stage: string
      readonly uses: string
      readonly key: string
      readonly reasons: ReadonlyArray<string>
    }
  | {
      readonly type: "stage-cached"
      readonly stage: string
      readonly uses: string
      readonly key: string
      readonly outputs: Readonly<Record<string, string>>
    }
  | {
      readonly type: "stage-progress"
      readonly stage: string
      readonly done: number
      readonly total?: number
      readonly unit?: string
      readonly message?: string
      readonly metrics?: Readonly<Record<string, number>>
    }
  | { readonly type: "stage-log"; readonly stage: string; readonly message: string }
  | {
      readonly type: "stage-done"
      readonly stage: string
      readonly key: string
      readonly seconds: number
      readonly outputs: Readonly<Record<string, string>>
    }
  | { readonly type: "stage-failed"; readonly stage: string; readonly error: string; readonly message: string }
  | { readonly type: "stage-skipped"; readonly stage: string; readonly reason: string }
  | {
      readonly type: "run-done"
      readonly ok: boolean
      readonly seconds: number
      readonly ran: number
      readonly cached: number
      readonly failed: number
      readonly skipped: number
      /** Stage id → output port → artifact directory. */
      readonly outputs: Readonly<Record<string, Readonly<Record<string, string>>>>
    }

export type EmitEvent = (event: RunEvent) => void

/**
 * Where a run's events go. The CLI gives a renderer (progress bars, plain lines or JSON lines);
 * tests collect them. Emitting never fails: a sink that cannot show an event drops it.
 */
export class EventSink extends Context.Service<EventSink, { readonly emit: (event: RunEvent) => Effect.Effect<void> }>()(
  "@tomoprior/runner/EventSink"
) {
  /** A sink calling `emit` synchronously for every event, in order. */
  static readonly layer = (emit: EmitEvent): Layer.Layer<EventSink> =>
    Layer.succeed(EventSink, { emit: (event) => Effect.sync(() => emit(event)) })

  /** A sink that keeps every event in `events` (for tests and programs that inspect a run afterwards). */
  static readonly collecting = (): { readonly events: Array<RunEvent>; readonly layer: Layer.Layer<EventSink> } => {
    const events: Array<RunEvent> = []
    return { events, layer: EventSink.layer((event) => void events.push(event)) }
  }
}
