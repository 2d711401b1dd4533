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
    const hint = this.code === undefined ? undefined : HINTS[this.code]
    return `cannot ${this.operation}: ${this.path}: ${this.reason}${hint ? `\n  hint: ${hint}` : ""}`
  }
}

const HINTS: Readonly<Record<string, string>> = {
  ENOSPC:
    "the filesystem is full; nothing half-written was kept. Free space (`tomoprior gc` deletes results no lock file needs) " +
    "or point --store at a larger filesystem, then run again",
  EDQUOT: "your disk quota is used up; free space (`tomoprior gc` helps) or point --store elsewhere, then run again",
  EACCES: "this user may not write there; fix the permissions or point --store at a directory you own",
  EPERM: "this user may not write there; fix the permissions or point --store at a directory you own",
  EROFS: "the filesystem is read-only; point --store at a writable directory"
}

/** A rejected file-system promise as a StoreError; the path the system names wins over the one given. */
export const storeError = (operation: string, path: string, e: unknown): StoreError => {
  const errno = e as NodeJS.ErrnoException
  const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0]
  return new StoreError({
    operation,
    path: typeof errno?.path === "string" ? errno.path : path,
    // "ENOSPC: no space left on device, write" → "no space left on device": the code and path are shown apart
    reason: typeof errno?.code === "string" ? reason.replace(/^[A-Z]+: /, "").replace(/, \w+( '[^']*'( -> '[^']*')?)?$/, "") : reason,
    ...(typeof errno?.code === "string" ? { code: errno.code } : {})
  })
}

/** A file-system step of the store, typed: its failure is a StoreError, not a defect. */
export const storeStep = <A>(operation: string, path: string, run: () => Promise<A>): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({ try: run, catch: (e) => storeError(operation, path, e) })
