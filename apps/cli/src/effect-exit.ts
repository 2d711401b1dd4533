import { PipelineInvalid } from "@tomoprior/core"
import { StoreBusy, describeFailure } from "@tomoprior/runner"
import { Cause, Effect, Exit, Result } from "effect"
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, type Io, UsageError } from "./command.ts"

/**
 * Runs a command's Effect, interrupting it when `io.signal` aborts, and turns its failures into
 * messages and exit codes: an invalid pipeline → 2, a busy store or unexpected error → 1,
 * an interrupt → 130. Expected errors print their message only, never a stack.
 */
export const runCommandEffect = async <A>(effect: Effect.Effect<A, unknown>, io: Io, onSuccess: (a: A) => number): Promise<number> => {
  const exit = await Effect.runPromiseExit(effect, { signal: io.signal })
  if (Exit.isSuccess(exit)) return onSuccess(exit.value)
  if (Cause.hasInterruptsOnly(exit.cause)) {
    io.stderr("interrupted: temporary outputs removed, the store is consistent; run again to resume\n")
    return EXIT_INTERRUPTED
  }
  const failure = Cause.findError(exit.cause)
  if (Result.isSuccess(failure)) {
    const e = failure.success
    if (e instanceof PipelineInvalid) {
      const n = e.diagnostics.length
      io.stderr(`${e.message}\n${n} problem${n === 1 ? "" : "s"} in ${e.file}; nothing was run\n`)
      return EXIT_INVALID
    }
    if (e instanceof UsageError) {
      io.stderr(`usage error: ${e.message}\n`)
      return EXIT_INVALID
    }
    if (e instanceof StoreBusy) {
      io.stderr(`${e.message}\n`)
      return EXIT_FAILED
    }
  }
  io.stderr(`error: ${describeFailure(exit.cause).message}\n`)
  return EXIT_FAILED
}
