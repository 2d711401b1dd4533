import type { ArtifactRef } from "@tomoprior/core"
import { Cause, Deferred, Effect, Exit, Result, Semaphore } from "effect"
import { EventSink } from "./events.ts"
import { Executor, type StageInvocation } from "./executor.ts"
import { type LockEntry, type LockFile, lockPathFor, lockStages, previousEntry, readLock, withLockStages, writeLock } from "./lockfile.ts"
import { explain, inputHashes, keyParts, matches, selectNodes } from "./plan.ts"
import type { PlanNode, ResolvedPipeline } from "./resolve.ts"
import { Store } from "./store.ts"
import { storeStep } from "./store-error.ts"
import { evictArtifacts } from "./verify.ts"
import { describeDamage } from "./artifact-check.ts"

/** Concurrent work slots; a stage declaring `resources.cpu: "all"` takes every slot. */
export const DEFAULT_SLOTS = 2

export interface ExecuteOptions {
  readonly runId: string
  /** Written into every manifest's provenance, e.g. "tomoprior 0.1.0". */
  readonly tool: string
  readonly force?: ReadonlyArray<string>
  readonly only?: ReadonlyArray<string>
  readonly slots?: number
}

export interface RunSummary {
  readonly ok: boolean
  readonly ran: number
  readonly cached: number
  readonly failed: number
  readonly skipped: number
  readonly outputs: Record<string, Record<string, string>>
}

type Outcome =
  | { readonly status: "ran" | "cached"; readonly outputs: Record<string, ArtifactRef> }
  | { readonly status: "failed" | "skipped"; readonly root: string }

/**
 * A whole run: takes the store's writer lease (waiting up to `waitSeconds` for another run, with a
 * notice), clears temp outputs a dead run left, then executes the pipeline.
 */
export const runPipeline = (p: ResolvedPipeline, options: ExecuteOptions & { readonly waitSeconds: number }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* Store
      const sink = yield* EventSink
      yield* store.init
      yield* store.lease({
        runId: options.runId,
        waitSeconds: options.waitSeconds,
        notice: (message) => sink.emit({ type: "notice", message })
      })
      yield* store.clearTmp
      return yield* executePipeline(p, options)
    })
  )

/**
 * Runs a validated pipeline against a store whose writer lease is held. Each stage waits for its
 * producers, computes its key from their output hashes, and is either served from the store or
 * handed to the Executor with temp output directories that are moved into the store only when
 * complete. A failure skips the stage's dependants and lets independent branches finish.
 * Interruption deletes temp outputs.
 */
export const executePipeline = (p: ResolvedPipeline, options: ExecuteOptions) =>
  Effect.gen(function* () {
    const started = Date.now()
    const store = yield* Store
    const executor = yield* Executor
    const { emit } = yield* EventSink
    const nodes = selectNodes(p, options.only ?? [])
    const slots = executor.concurrency ?? options.slots ?? DEFAULT_SLOTS
    const budget = yield* Semaphore.make(slots)
    const lockWrites = yield* Semaphore.make(1)
    const lockPath = lockPathFor(p.file)
    const previous = yield* Effect.promise(() => readLock(lockPath))
    // This run's section of the lock file (the plain pipeline's, or its --set variant's); the others are kept as they are.
    const section: Record<string, LockEntry> = { ...lockStages(previous, p.variant) }
    const base: LockFile = { ...previous, pipeline: p.name, stages: previous?.stages ?? {} }

    const keyLocks = new Map<string, Semaphore.Semaphore>()
    const keyLock = (key: string) => {
      let lock = keyLocks.get(key)
      if (!lock) keyLocks.set(key, (lock = Semaphore.makeUnsafe(1)))
      return lock
    }
    // Completed with the node's own exit: an interrupted producer interrupts the stages waiting for it
    // instead of waking them to read an outcome it never recorded.
    const done = new Map<string, Deferred.Deferred<Outcome>>()
    for (const n of nodes) done.set(n.id, yield* Deferred.make<Outcome>())
    const outcomes = new Map<string, Outcome>()

    yield* emit({
      type: "run-start",
      pipeline: p.name,
      ...(p.variant ? { variant: p.variant.name } : {}),
      runId: options.runId,
      store: store.layout.root,
      stages: nodes.map((n) => n.id)
    })

    // The lock file and the store's copy of it (a gc root) are written together or not at all.
    const record = (node: PlanNode, entry: LockEntry) =>
      Semaphore.withPermits(
        lockWrites,
        1
      )(
        Effect.uninterruptible(
          Effect.gen(function* () {
            section[node.id] = entry
            const lock = withLockStages(base, p.variant, { ...section }, options.runId)
            yield* storeStep("write the lock file", lockPath, () => writeLock(lockPath, lock))
            yield* store.recordRoot(lockPath, lock)
          })
        )
      )

    const runNode = (node: PlanNode) =>
      Effect.gen(function* () {
        for (const d of node.deps) yield* Deferred.await(done.get(d)!)
        const broken = node.deps.map((d) => outcomes.get(d)!).find((o): o is Extract<Outcome, { root: string }> => "root" in o)
        if (broken) {
          yield* emit({ type: "stage-skipped", stage: node.id, reason: `upstream \`${broken.root}\` failed` })
          return { status: "skipped", root: broken.root } as Outcome
        }
        const refOf = (id: string) => (outcomes.get(id) as { outputs: Record<string, ArtifactRef> }).outputs
        const inputs = inputHashes(node, (id) => Object.fromEntries(Object.entries(refOf(id)).map(([k, r]) => [k, r.hash])))!
        const keyed = yield* Effect.exit(keyParts(node, inputs, p.dir, store.hashes))
        if (Exit.isFailure(keyed)) return yield* fail(node, keyed.cause)
        const { parts, key } = keyed.value
        const forced = (options.force ?? []).some((f) => matches(node, f))
        const entry = (outputs: Record<string, ArtifactRef>): LockEntry => ({
          ...parts,
          inputs: { ...parts.inputs },
          key,
          outputs: Object.fromEntries(Object.entries(outputs).map(([k, r]) => [k, r.hash]))
        })

        // Two stages with the same key (identical type, params and inputs) run once; the second is a cache hit.
        return yield* Semaphore.withPermits(
          keyLock(key),
          1
        )(
          Effect.gen(function* () {
            const found = forced ? undefined : yield* store.lookup(key)
            if (found?.status === "hit") {
              yield* record(node, entry(found.outputs))
              yield* emit({ type: "stage-cached", stage: node.id, uses: node.stage.name, key, outputs: dirs(found.outputs) })
              return { status: "cached", outputs: found.outputs } as Outcome
            }
            // Never serve a cached result that changed since it was stored: evict it and compute it again.
            if (found?.status === "damaged") yield* evictArtifacts(found.damage.map((d) => d.hash))

            const prev = previousEntry(previous, p.variant, node.id)
            const reasons = forced
              ? ["forced"]
              : found?.status === "damaged"
                ? found.damage.map(describeDamage)
                : prev?.key === key
                  ? ["cached result missing from store"]
                  : explain(node, prev, parts)
            const permits = executor.concurrency === undefined && node.stage.resources?.cpu === "all" ? slots : 1
            return yield* Semaphore.withPermits(
              budget,
              permits
            )(
              Effect.gen(function* () {
                yield* emit({ type: "stage-start", stage: node.id, uses: node.stage.name, key, reasons })
                const t0 = Date.now()
                const ran = yield* Effect.exit(attempt(node, key, refOf))
                if (Exit.isFailure(ran)) return yield* fail(node, ran.cause)
                yield* record(node, entry(ran.value))
                yield* emit({ type: "stage-done", stage: node.id, key, seconds: (Date.now() - t0) / 1000, outputs: dirs(ran.value) })
                return { status: "ran", outputs: ran.value } as Outcome
              })
            )
          })
        )
      }).pipe(
        // Recording a result can fail too (a full disk under the lock file): the stage then counts as failed.
        Effect.catchTag("StoreError", (e) => fail(node, Cause.fail(e))),
        Effect.tap((o) => Effect.sync(() => outcomes.set(node.id, o))),
        Effect.onExit((exit) => Deferred.done(done.get(node.id)!, exit))
      )

    const fail = (node: PlanNode, cause: Cause.Cause<unknown>) =>
      Effect.gen(function* () {
        if (Cause.hasInterruptsOnly(cause)) return yield* Effect.interrupt
        const { error, message } = describeFailure(cause)
        yield* emit({ type: "stage-failed", stage: node.id, error, message })
        return { status: "failed", root: node.id } as Outcome
      })

    /** One execution of a stage: temp outputs, the executor's run, then the move into the store. */
    const attempt = (node: PlanNode, key: string, refOf: (id: string) => Record<string, ArtifactRef>) =>
      Effect.scoped(
        Effect.gen(function* () {
          const staging = yield* store.staging(options.runId, node.id, key, Object.keys(node.stage.outputs))
          const invocation: StageInvocation = {
            pipeline: p.name,
            pipelineDir: p.dir,
            plugins: p.plugins,
            stageId: node.id,
            uses: node.stage.name,
            key,
            params: node.params,
            inputs: resolvedInputs(node, refOf),
            outputs: staging.outputs,
            workDir: staging.workDir,
            compute: p.compute,
            resources: { cpu: node.stage.resources?.cpu ?? 1, slurm: node.slurm }
          }
          const startedAt = new Date().toISOString()
          const result = yield* executor.run(invocation)
          const endedAt = new Date().toISOString()
          return yield* store.commit(staging, node.stage.outputs, {
            pipeline: p.name,
            stage: node.id,
            uses: node.stage.name,
            key,
            startedAt,
            endedAt,
            tool: options.tool,
            extra: { ...result.provenance }
          })
        })
      )

    // The results are in the store whatever happens here: a failure to tidy up is worth a notice, not a failed run.
    const endRun = store.endRun(options.runId).pipe(Effect.catch((e) => emit({ type: "notice", message: e.message })))
    yield* Effect.forEach(nodes, runNode, { concurrency: "unbounded", discard: true }).pipe(Effect.ensuring(endRun))

    const count = (s: Outcome["status"]) => [...outcomes.values()].filter((o) => o.status === s).length
    const outputs: Record<string, Record<string, string>> = {}
    for (const [id, o] of outcomes) if (o.status === "ran" || o.status === "cached") outputs[id] = dirs(o.outputs)
    const summary: RunSummary = {
      ok: count("failed") === 0 && count("skipped") === 0,
      ran: count("ran"),
      cached: count("cached"),
      failed: count("failed"),
      skipped: count("skipped"),
      outputs
    }
    yield* emit({
      type: "run-done",
      ok: summary.ok,
      seconds: (Date.now() - started) / 1000,
      ran: summary.ran,
      cached: summary.cached,
      failed: summary.failed,
      skipped: summary.skipped,
      outputs
    })
    return summary
  })

const dirs = (refs: Record<string, ArtifactRef>): Record<string, string> =>
  Object.fromEntries(Object.entries(refs).map(([k, r]) => [k, r.dir]))

const resolvedInputs = (node: PlanNode, refOf: (id: string) => Record<string, ArtifactRef>): StageInvocation["inputs"] => {
  const out: Record<string, ArtifactRef | ReadonlyArray<ArtifactRef> | undefined> = {}
  for (const [port, decl] of Object.entries(node.stage.inputs)) {
    const wired = node.inputs[port]
    const refs = (wired?.wires ?? []).map((w) => ({ ...refOf(w.node)[w.output], producer: w.node }))
    out[port] = decl.many ? refs : refs[0]
  }
  return out
}

/** A typed error's own message; an unexpected defect's message (stack only with TOMOPRIOR_DEBUG=1). */
export const describeFailure = (cause: Cause.Cause<unknown>): { error: string; message: string } => {
  const failure = Cause.findError(cause)
  if (Result.isSuccess(failure)) {
    const e = failure.success as { _tag?: string; message?: string }
    return { error: e?._tag ?? "Error", message: e?.message ?? String(e) }
  }
  const defect = Cause.squash(cause) as { message?: string; stack?: string }
  const text = process.env.TOMOPRIOR_DEBUG ? (defect?.stack ?? String(defect)) : (defect?.message ?? String(defect))
  return {
    error: "Defect",
    message: `unexpected error: ${text}${process.env.TOMOPRIOR_DEBUG ? "" : " (TOMOPRIOR_DEBUG=1 shows the stack)"}`
  }
}
