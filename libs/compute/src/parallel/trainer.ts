import { availableParallelism } from "node:os"
import type { Worker } from "node:worker_threads"
import {
  type Batch,
  type ComputeSettings,
  type FlatTensor,
  type KernelCount,
  type MemoryReport,
  type StepResult,
  type Trainer,
  TrainerError,
  type TrainerOptions,
  type TrainerState
} from "@tomoprior/core"
import { Effect, type Scope } from "effect"
import { spawnTsWorker } from "../backend/workers.ts"
import { partitionsOf, type InitReply, type Request, type Reply, type StepReply, type WorkerSetup } from "./protocol.ts"
import { concatFloats, stateMismatch, type PartitionInput } from "./replica.ts"

/** What `makeTrainer` needs beyond core's TrainerOptions: the backend (resolved, for workers) and thread count. */
export type TrainerSetup = TrainerOptions & {
  /** Backend of every worker; `threads` workers (0 = one per core), capped at `partitions`. */
  readonly compute: ComputeSettings
}

const workerEntry = new URL("./worker.ts", import.meta.url)

/** One worker thread with request/response messaging. */
class WorkerHandle {
  private nextId = 0
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  /** Why this thread can answer no more calls: it exited, crashed or was stopped. */
  private gone: Error | undefined
  private readonly worker: Worker

  constructor(setup: WorkerSetup, onCrash: (e: Error) => void) {
    this.worker = spawnTsWorker(workerEntry, { setup })
    this.worker.on("message", (reply: Reply) => {
      const p = this.pending.get(reply.id)
      this.pending.delete(reply.id)
      if (reply.ok) p?.resolve(reply.value)
      else p?.reject(new Error(reply.error))
    })
    const crash = (e: Error) => {
      if (this.gone === undefined) onCrash(e)
      this.end(e)
    }
    this.worker.on("error", crash)
    // Also between calls: a message posted to an exited thread is dropped, so its call would never settle.
    this.worker.on("exit", (code) => crash(new Error(`worker ${setup.rank} exited with code ${code}`)))
  }

  private end(e: Error): void {
    this.gone ??= e
    for (const p of this.pending.values()) p.reject(e)
    this.pending.clear()
  }

  call<A>(request: Request, transfer: ArrayBuffer[] = []): Promise<A> {
    if (this.gone !== undefined) return Promise.reject(this.gone)
    const id = this.nextId++
    return new Promise<A>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.worker.postMessage({ id, request }, transfer)
    })
  }

  /** Ends the thread wherever it is (mid-step, at a barrier, still starting up); resolves when it is gone. */
  stop(reason: string): Promise<void> {
    this.end(new Error(reason))
    return this.worker.terminate().then(() => undefined)
  }
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Data-parallel trainer over worker threads (DESIGN.md §7): each worker holds a replica, computes
 * the exact gradient share of its partitions, the shares are summed in shared memory and every
 * worker applies the same Adam update, so replicas stay identical. Scoped: the workers stop when
 * the scope closes.
 */
export const makeTrainer = (options: TrainerSetup): Effect.Effect<Trainer, TrainerError, Scope.Scope> =>
  Effect.gen(function* () {
    const partitions = options.partitions ?? 2
    const wanted = options.compute.threads === 0 ? availableParallelism() : options.compute.threads
    if (!Number.isInteger(partitions) || partitions < 1) {
      return yield* new TrainerError({ operation: "start", reason: `partitions must be a positive integer, got ${partitions}` })
    }
    if (!Number.isInteger(wanted) || wanted < 1) {
      return yield* new TrainerError({
        operation: "start",
        reason: `threads must be 0 (one per core) or a positive integer, got ${options.compute.threads}`
      })
    }
    const spawned = Math.min(wanted, partitions)
    const seed = options.seed ?? 0
    let broken: string | undefined
    const spawnedHandles = yield* Effect.acquireRelease(
      Effect.sync(() =>
        Array.from({ length: spawned }, (_, rank) => {
          const setup: WorkerSetup = {
            rank,
            partitions,
            taskModule: String(options.task.module),
            taskConfig: options.task.config,
            seed,
            backend: options.compute.backend,
            // Native kernels thread with OpenMP: the cores are shared out among the workers.
            kernelThreads: Math.max(1, Math.floor(availableParallelism() / spawned)),
            optimizer: options.optimizer ?? { lr: 3e-4 },
            profileMemory: options.profileMemory ?? false
          }
          return new WorkerHandle(setup, (e) => {
            broken ??= e.message
          })
        })
      ),
      (hs) => Effect.promise(() => Promise.all(hs.map((h) => h.stop("the trainer was closed"))))
    )
    let handles = spawnedHandles
    /** Once a call failed or was abandoned the replicas may be mid-step (some at a barrier): none is reusable. */
    const stopAll = (reason: string) => {
      broken ??= reason
      for (const h of handles) void h.stop(reason)
    }

    // One collective call at a time: workers meet at barriers, so calls must not interleave.
    let queue: Promise<unknown> = Promise.resolve()
    const serial = <A>(operation: string, run: () => Promise<A>): Effect.Effect<A, TrainerError> =>
      Effect.tryPromise({
        try: () => {
          const next = queue.then(() => {
            if (broken !== undefined) throw new Error(`the trainer stopped earlier: ${broken}`)
            return run()
          })
          queue = next.catch(() => undefined)
          return next
        },
        catch: (e) => {
          stopAll(errorText(e))
          return new TrainerError({ operation, reason: errorText(e) })
        }
      }).pipe(
        // Interrupting a call (Ctrl-C) must not wait for workers that may never answer: stopping them settles it.
        Effect.onInterrupt(() => Effect.sync(() => stopAll(`${operation} was interrupted`)))
      )
    const all = <A>(request: Request) => Promise.all(handles.map((h) => h.call<A>(request)))

    const inits = yield* serial("start", () => all<InitReply>({ type: "init" }))
    const { slotSize, paramCount, backend } = inits[0]
    // tfjs-node already uses every core (and a GPU is one device): extra replicas would only
    // compete, so "one per core" means one worker there. An explicit thread count is obeyed.
    if (options.compute.threads === 0 && (backend.backend === "tensorflow" || backend.backend === "tensorflow-gpu")) {
      yield* Effect.promise(() => Promise.all(handles.slice(1).map((h) => h.stop("one worker suffices on tensorflow"))))
      handles = handles.slice(0, 1)
    }
    const threads = handles.length
    const exchangeFloats = options.exchangeFloats ?? 8 * 1024 * 1024
    const buffers = {
      control: new SharedArrayBuffer(8),
      slots: new SharedArrayBuffer(threads * slotSize * 4),
      outputs: new SharedArrayBuffer(exchangeFloats * 4)
    }
    yield* serial("start", () => all({ type: "attach", buffers, threads }))
    // Same seed, same weights in principle; copying worker 0's state makes it so for any task.
    const initial = yield* serial("start", async () => {
      const state = await handles[0].call<TrainerState>({ type: "getState" })
      await Promise.all(handles.slice(1).map((h) => h.call({ type: "setState", state })))
      return state
    })
    let steps = 0

    const step = (batch: Batch): Effect.Effect<StepResult, TrainerError> => {
      const [n, h, w, c] = batch.shape
      if (n % partitions !== 0 || batch.inputs.length !== n * h * w * c) {
        return Effect.fail(
          new TrainerError({
            operation: "step",
            reason:
              `a batch of ${n} samples (${batch.inputs.length} floats for shape [${batch.shape.join(",")}]) ` +
              `must have a sample count divisible by ${partitions} partitions and match its shape`
          })
        )
      }
      const size = n / partitions
      const per = size * h * w * c
      const partitionInput = (index: number): PartitionInput => ({
        partition: { index, count: partitions, offset: index * size, size },
        data: batch.inputs.slice(index * per, (index + 1) * per),
        shape: [size, h, w, c]
      })
      return serial("step", async () => {
        const replies = await Promise.all(
          handles.map((handle, rank) =>
            handle.call<StepReply>({
              type: "step",
              step: {
                own: partitionsOf(rank, threads, partitions).map(partitionInput),
                meta: batch.meta,
                targets: batch.targets,
                lr: batch.lr
              }
            })
          )
        )
        steps = replies[0].step
        return { loss: replies[0].loss, step: steps, checksums: replies.map((r) => r.checksum) }
      })
    }

    const evaluate = (inputs: Float32Array, shape: readonly [number, number, number, number]): Effect.Effect<FlatTensor, TrainerError> => {
      const [n, h, w, c] = shape
      if (n < 1 || inputs.length !== n * h * w * c) {
        return Effect.fail(
          new TrainerError({
            operation: "evaluate",
            reason: `inputs of ${inputs.length} floats do not match shape [${shape.join(",")}] with at least one sample`
          })
        )
      }
      return serial("evaluate", async () => {
        const per = h * w * c
        const chunk = Math.ceil(n / threads)
        const parts = await Promise.all(
          handles.map((handle, rank) => {
            const start = Math.min(n, rank * chunk)
            const count = Math.min(n, start + chunk) - start
            if (count === 0) return Promise.resolve(undefined)
            const input = { data: inputs.slice(start * per, (start + count) * per), shape: [count, h, w, c] }
            return handle.call<FlatTensor>({ type: "evaluate", input, batchSize: options.evaluateBatch ?? 32 }, [
              input.data.buffer as ArrayBuffer
            ])
          })
        )
        const done = parts.filter((p): p is FlatTensor => p !== undefined)
        return { data: concatFloats(done.map((p) => p.data)), shape: [n, ...done[0].shape.slice(1)] }
      })
    }

    const trainer: Trainer = {
      threads,
      partitions,
      backend,
      paramCount,
      step,
      evaluate,
      getState: () => serial("getState", () => handles[0].call<TrainerState>({ type: "getState" })),
      setState: (state) => {
        // Checked here so that a wrong state file is an ordinary error, not a broken trainer.
        const problem = stateMismatch(initial, state)
        if (problem !== undefined) return Effect.fail(new TrainerError({ operation: "setState", reason: problem }))
        return serial("setState", async () => {
          await all({ type: "setState", state })
          steps = state.step
        })
      },
      save: (dir, metadata) =>
        serial("save", () => handles[0].call<void>({ type: "save", dir, metadata: { ...metadata, backend: backend.backend, steps } })),
      memory: () => serial("memory", () => all<MemoryReport>({ type: "memory" })),
      kernelCounts: () => serial("kernelCounts", () => all<Record<string, KernelCount>>({ type: "kernelCounts" }))
    }
    return trainer
  })
