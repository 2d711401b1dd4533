import { builtinRegistry } from "@tomoprior/catalog"
import { Effect, Layer } from "effect"
import { resolve } from "node:path"
import { EventSink, jobEventSink, runJob } from "@tomoprior/runner"
import { type Command, EXIT_FAILED, EXIT_OK, UsageError, parseFlags } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"
import { localExecutor } from "../executors.ts"

export const job: Command = {
  name: "job",
  summary: "run one stage of a cluster job (what `run --executor slurm` submits)",
  usage: `tomoprior job <job-dir>

Runs the one stage invocation described in <job-dir>/job.json into the output and work directories
the submitting run prepared, relays progress through <job-dir>/events.jsonl and writes
<job-dir>/result.json. It does not commit anything to the store: the submitting run does. It stops
by itself when the run that submitted it no longer holds the store.
Not for direct use: \`tomoprior run --executor slurm\` writes the job directories and submits this.

Exit codes: 0 the stage succeeded, 1 it failed, 2 usage, 130 stopped by a signal (scancel, time limit).`,
  run: async (argv, io) => {
    const { positionals } = parseFlags(argv, {})
    if (positionals.length !== 1) throw new UsageError({ message: "expected one job directory" })
    const dir = resolve(io.cwd, positionals[0])
    const services = Layer.mergeAll(builtinRegistry, EventSink.layer(jobEventSink(dir, io.stdout)))
    return runCommandEffect(runJob(dir, io.env, localExecutor).pipe(Effect.provide(services)), io, (result) => {
      if (result.ok) return EXIT_OK
      io.stderr(`stage failed: ${result.message}\n`)
      return EXIT_FAILED
    })
  }
}
