import { systemReason, withSystemHint } from "@tomoprior/core"
import { Effect, Schema } from "effect"

/**
 * The store or a lock file could not be read or written: which operation, which path, the system's
 * reason and, for the usual causes (a full disk, a quota, permissions), what to do about it.
 */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  path: Schema.String,
  reason: Schema.String,
  /** The system error code (ENOSPC, EACCES…) when there is one. */
  code: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return withSystemHint(`cannot ${this.operation}: ${this.path}: ${this.reason}`, this.code)
  }
}

/** A rejected file-system promise as a StoreError; the path the system names wins over the one given. */
export const storeError = (operation: string, path: string, e: unknown): StoreError => {
  const named = (e as NodeJS.ErrnoException | undefined)?.path
  return new StoreError({ operation, path: typeof named === "string" ? named : path, ...systemReason(e) })
}

/** A file-system step of the store, typed: its failure is a StoreError, not a defect. */
export const storeStep = <A>(operation: string, path: string, run: () => Promise<A>): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({ try: run, catch: (e) => storeError(operation, path, e) })
