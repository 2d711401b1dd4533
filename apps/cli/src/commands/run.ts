import { builtinRegistry } from "@tomoprior/catalog"
import { Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import { EventSink, Store, resolveVariants, runPipeline } from "@tomoprior/runner"
import { type Command, EXIT_FAILED, EXIT_OK, UsageError, backendOverride, onePipelineFile, parseFlags, storeDir } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"
import { chooseExecutor, executorFlag } from "../executors.ts"
import { humanRenderer, jsonRenderer } from "../render.ts"

export const TOOL = "tomoprior 0.1.0"

export const newRunId = (): string => `${new Date().toISOString().replace(/[-:]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`

export const run: Command = {
  name: "run",
  summary: "run a pipeline, reusing cached stage results",
  usage: `tomoprior run <pipeline.yaml> [options]

Runs every stage whose inputs, params or code changed since it last ran; the rest come from the store.

  --set S.P=V       override param P of stage S (or \`params.P\`, a pipeline param; dotted keys reach
                    into mappings: augment.flip.p) for this run, without editing the YAML (repeatable).
                    V is YAML; commas separate values and make a sweep, one run per combination:
                    --set sorting.margin=0.1,0.5 runs two variants. A list is one value in brackets
                    (norm.window=[-900,500]); quote text holding a comma ('report.title="a, b"').
                    Each variant is cached like any run and recorded by name in the lock file.
  --force STAGE     rerun STAGE even if cached (repeatable; a matrix stage id forces all its runs)
  --only STAGE      run only STAGE and what it needs (repeatable)
  --json            print one JSON event per line (types: run-start, stage-start, stage-cached,
                    stage-progress, stage-done, stage-failed, stage-skipped, run-done)
  --store DIR       the store (default .tomoprior, or $TOMOPRIOR_STORE)
  --backend B       compute backend for every stage: auto, tensorflow-gpu, tensorflow, native, wasm, cpu
                    (default: the pipeline's compute.backend, or $TOMOPRIOR_BACKEND)
  --wait SECONDS    if another run holds the store, wait this long for it (default 0: fail at once)
  --executor E      where stages run: local (this process) or slurm (one sbatch job per stage,
                    against the same store on a shared filesystem; see README "Running on a Slurm
                    cluster"). Default: the pipeline's \`executor:\`, else local.

Exit codes: 0 ok, 1 a stage failed (or the store is busy), 2 invalid pipeline or usage, 130 interrupted.`,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      set: { type: "string", multiple: true },
      force: { type: "string", multiple: true },
      only: { type: "string", multiple: true },
      json: { type: "boolean" },
      store: { type: "string" },
      backend: { type: "string" },
      wait: { type: "string" },
      executor: { type: "string" }
    })
    const file = onePipelineFile(positionals, io)
    const waitSeconds = Number(values.wait ?? "0")
    if (!Number.isFinite(waitSeconds) || waitSeconds < 0)
      throw new UsageError({ message: `--wait needs a number of seconds, got '${values.wait}'` })
    const backend = backendOverride(values.backend, io)
    const executor = executorFlag(values.executor)
    const renderer = values.json ? jsonRenderer(io) : humanRenderer(io, { tty: io.isTTY })
    const runId = newRunId()
    const services = Layer.mergeAll(builtinRegistry, Store.layer(storeDir(values.store, io)), EventSink.layer(renderer.emit))
    const program = Effect.gen(function* () {
      const variants = yield* resolveVariants(file, { backend, set: values.set })
      for (const name of [...(values.force ?? []), ...(values.only ?? [])])
        if (!variants[0].nodes.some((n) => n.id === name || n.specId === name))
          return yield* new UsageError({ message: `no stage \`${name}\` in ${file}` })
      // One after another under one run id: a variant reuses what the ones before it computed.
      return yield* Effect.forEach(variants, (pipeline) =>
        runPipeline(pipeline, { runId, waitSeconds, tool: TOOL, force: values.force, only: values.only })
      ).pipe(Effect.provide(chooseExecutor(executor, variants[0], runId)))
    }).pipe(Effect.provide(services), Effect.ensuring(Effect.sync(renderer.close)))
    return runCommandEffect(program, io, (summaries) => (summaries.every((s) => s.ok) ? EXIT_OK : EXIT_FAILED))
  }
}
