import type { ArtifactRef, Progress, ResolvedInputs, StageContext } from "@tomoprior/core"
import { Cause, Deferred, Effect, Exit, Result, Semaphore } from "effect"
import { mkdir, rm } from "node:fs/promises"
import { join } from "node:path"
import type { EmitEvent } from "./events.ts"
import type { FileHasher } from "./hash.ts"
import { type LockEntry, type LockFile, lockPathFor, readLock, writeLock } from "./lockfile.ts"
import { explain, inputHashes, keyParts, matches, selectNodes } from "./plan.ts"
import type { PlanNode, ResolvedPipeline } from "./resolve.ts"
import type { Store } from "./store.ts"

/** Concurrent work slots; a stage declaring `resources.cpu: "all"` takes every slot. */
export const DEFAULT_SLOTS = 2
const PROGRESS_EVERY_MS = 250

export interface ExecuteOptions {
  readonly runId: string
  readonly emit: EmitEvent
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

type Outcome = { readonly status: "ran" | "cached"; readonly outputs: Record<string, ArtifactRef> } | { readonly status: "failed" | "skipped"; readonly root: string }

/**
 * Runs a validated pipeline against a store whose writer lease is held. Each stage waits for its
 * producers, computes its key from their output hashes, and is either served from the store or run
 * in a temp directory whose outputs are moved into the store only when complete. A failure skips
 * the stage's dependants and lets independent branches finish. Interruption deletes temp outputs.
 */
export const executePipeline = (p: ResolvedPipeline, store: Store, hasher: FileHasher, options: ExecuteOptions) =>
  Effect.gen(function* () {
    const started = Date.now()
    const emit = options.emit
    const nodes = selectNodes(p, options.only ?? [])
    const slots = options.slots ?? DEFAULT_SLOTS
    const budget = yield* Semaphore.make(slots)
    const lockWrites = yield* Semaphore.make(1)
    const lockPath = lockPathFor(p.file)
    const previous = yield* Effect.promise(() => readLock(lockPath))
    const lock: { pipeline: string; stages: Record<string, LockEntry> } = { pipeline: p.name, stages: { ...(previous?.stages ?? {}) } }

    const keyLocks = new Map<string, Semaphore.Semaphore>()
    const keyLock = (key: string) => {
      let lock = keyLocks.get(key)
      if (!lock) keyLocks.set(key, (lock = Semaphore.makeUnsafe(1)))
      return lock
    }
    const done = new Map<string, Deferred.Deferred<void>>()
    for (const n of nodes) done.set(n.id, yield* Deferred.make<void>())
    const outcomes = new Map<string, Outcome>()

    emit({ type: "run-start", pipeline: p.name, runId: options.runId, store: store.root, stages: nodes.map((n) => n.id) })

    const record = (node: PlanNode, entry: LockEntry) =>
      Semaphore.withPermits(lockWrites, 1)(
        Effect.promise(async () => {
          lock.stages[node.id] = entry
          await writeLock(lockPath, lock as LockFile)
          await store.recordRoot(lockPath, lock as LockFile)
        })
      )

    const runNode = (node: PlanNode) =>
      Effect.gen(function* () {
        for (const d of node.deps) yield* Deferred.await(done.get(d)!)
        const broken = node.deps.map((d) => outcomes.get(d)!).find((o): o is Extract<Outcome, { root: string }> => "root" in o)
        if (broken) {
          emit({ type: "stage-skipped", stage: node.id, reason: `upstream \`${broken.root}\` failed` })
          return { status: "skipped", root: broken.root } as Outcome
        }
        const refOf = (id: string) => (outcomes.get(id) as { outputs: Record<string, ArtifactRef> }).outputs
        const inputs = inputHashes(node, (id) => Object.fromEntries(Object.entries(refOf(id)).map(([k, r]) => [k, r.hash])))!
        const keyed = yield* Effect.exit(keyParts(node, inputs, p.dir, hasher))
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
        return yield* Semaphore.withPermits(keyLock(key), 1)(
          Effect.gen(function* () {
            const hit = forced ? undefined : yield* Effect.promise(() => store.lookup(key))
            if (hit) {
              yield* record(node, entry(hit))
              emit({ type: "stage-cached", stage: node.id, uses: node.stage.name, key, outputs: dirs(hit) })
              return { status: "cached", outputs: hit } as Outcome
            }

            const prev = previous?.stages[node.id]
            const reasons = forced ? ["forced"] : prev?.key === key ? ["cached result missing from store"] : explain(node, prev, parts)
            const permits = node.stage.resources?.cpu === "all" ? slots : 1
            return yield* Semaphore.withPermits(budget, permits)(
              Effect.gen(function* () {
                emit({ type: "stage-start", stage: node.id, uses: node.stage.name, key, reasons })
                const t0 = Date.now()
                const ran = yield* Effect.exit(attempt(node, key, refOf))
                if (Exit.isFailure(ran)) return yield* fail(node, ran.cause)
                yield* record(node, entry(ran.value))
                emit({ type: "stage-done", stage: node.id, key, seconds: (Date.now() - t0) / 1000, outputs: dirs(ran.value) })
                return { status: "ran", outputs: ran.value } as Outcome
              })
            )
          })
        )
      }).pipe(
        Effect.tap((o) => Effect.sync(() => outcomes.set(node.id, o))),
        Effect.ensuring(Deferred.succeed(done.get(node.id)!, undefined))
      )

    const fail = (node: PlanNode, cause: Cause.Cause<unknown>) =>
      Effect.gen(function* () {
        if (Cause.hasInterruptsOnly(cause)) return yield* Effect.interrupt
        const { error, message } = describeFailure(cause)
        emit({ type: "stage-failed", stage: node.id, error, message })
        return { status: "failed", root: node.id } as Outcome
      })

    /** One execution of a stage: temp outputs, the stage's run, then the move into the store. */
    const attempt = (node: PlanNode, key: string, refOf: (id: string) => Record<string, ArtifactRef>) => {
      const tmpRoot = join(store.tmp, options.runId, node.id.replace(/[^A-Za-z0-9_.=,-]/g, "_"))
      const workDir = join(store.work, key)
      const outputDirs = Object.fromEntries(Object.keys(node.stage.outputs).map((port) => [port, join(tmpRoot, port)]))
      return Effect.acquireUseRelease(
        Effect.promise(async () => {
          await rm(tmpRoot, { recursive: true, force: true })
          for (const d of Object.values(outputDirs)) await mkdir(d, { recursive: true })
          await mkdir(workDir, { recursive: true })
        }),
        () =>
          Effect.gen(function* () {
            const startedAt = new Date().toISOString()
            const extra: Record<string, unknown> = {}
            let lastProgress = 0
            const ctx: StageContext<unknown, any, any> = {
              pipeline: p.name,
              pipelineDir: p.dir,
              stageId: node.id,
              params: node.params,
              inputs: resolvedInputs(node, refOf),
              outputs: outputDirs,
              workDir,
              compute: p.compute,
              progress: (pr: Progress) =>
                Effect.sync(() => {
                  const now = Date.now()
                  if (now - lastProgress < PROGRESS_EVERY_MS && pr.done !== pr.total) return
                  lastProgress = now
                  emit({ type: "stage-progress", stage: node.id, ...pr })
                }),
              log: (message: string) => Effect.sync(() => emit({ type: "stage-log", stage: node.id, message })),
              provenance: (facts) => Effect.sync(() => void Object.assign(extra, facts))
            }
            yield* node.stage.run(ctx)
            const endedAt = new Date().toISOString()
            const refs: Record<string, ArtifactRef> = {}
            // Moving into the store is short and must not be torn apart by an interrupt half-way.
            yield* Effect.uninterruptible(
              Effect.promise(async () => {
                for (const [port, kind] of Object.entries(node.stage.outputs))
                  refs[port] = await store.commitArtifact(
                    outputDirs[port],
                    kind,
                    { pipeline: p.name, stage: node.id, uses: node.stage.name, key, startedAt, endedAt, tool: options.tool, extra },
                    hasher
                  )
                await store.writeRunRecord({ key, stage: node.id, uses: node.stage.name, outputs: Object.fromEntries(Object.entries(refs).map(([k, r]) => [k, r.hash])), createdAt: endedAt })
                await rm(workDir, { recursive: true, force: true })
              })
            )
            return refs
          }),
        () => Effect.promise(() => rm(tmpRoot, { recursive: true, force: true }))
      )
    }

    yield* Effect.forEach(nodes, runNode, { concurrency: "unbounded", discard: true }).pipe(
      Effect.ensuring(Effect.promise(() => Promise.all([hasher.save(), rm(join(store.tmp, options.runId), { recursive: true, force: true })])))
    )

    const count = (s: Outcome["status"]) => [...outcomes.values()].filter((o) => o.status === s).length
    const outputs: Record<string, Record<string, string>> = {}
    for (const [id, o] of outcomes) if (o.status === "ran" || o.status === "cached") outputs[id] = dirs(o.outputs)
    const summary: RunSummary = { ok: count("failed") === 0 && count("skipped") === 0, ran: count("ran"), cached: count("cached"), failed: count("failed"), skipped: count("skipped"), outputs }
    emit({ type: "run-done", ok: summary.ok, seconds: (Date.now() - started) / 1000, ran: summary.ran, cached: summary.cached, failed: summary.failed, skipped: summary.skipped, outputs })
    return summary
  })

const dirs = (refs: Record<string, ArtifactRef>): Record<string, string> => Object.fromEntries(Object.entries(refs).map(([k, r]) => [k, r.dir]))

const resolvedInputs = (node: PlanNode, refOf: (id: string) => Record<string, ArtifactRef>): ResolvedInputs<any> => {
  const out: Record<string, ArtifactRef | ReadonlyArray<ArtifactRef> | undefined> = {}
  for (const [port, decl] of Object.entries(node.stage.inputs)) {
    const wired = node.inputs[port]
    const refs = (wired?.wires ?? []).map((w) => ({ ...refOf(w.node)[w.output], producer: w.node }))
    out[port] = decl.many ? refs : refs[0]
  }
  return out as ResolvedInputs<any>
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
  return { error: "Defect", message: `unexpected error: ${text}${process.env.TOMOPRIOR_DEBUG ? "" : " (TOMOPRIOR_DEBUG=1 shows the stack)"}` }
}
