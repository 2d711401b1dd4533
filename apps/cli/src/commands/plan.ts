import { builtinRegistry } from "@tomoprior/catalog"
import { Effect, Layer } from "effect"
import { Store, lockPathFor, planPipeline, readLock, resolveVariants } from "@tomoprior/runner"
import { type Command, EXIT_OK, backendOverride, onePipelineFile, parseFlags, storeDir } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"

export const plan: Command = {
  name: "plan",
  summary: "show which stages would run and why (a dry run)",
  usage: `tomoprior plan <pipeline.yaml> [options]

For every stage: "cached", or why it would run — "no previous run", "param \`lr\` 0.001 → 0.0003",
"input \`norm.volumes\` changed", "stage code changed", "stage type changed a → b", "forced",
"upstream \`x\` will rerun", "cached result missing from store". Compares with <pipeline>.lock.json.

  --set S.P=V     plan the variant(s) \`run --set\` would run (repeatable; commas make a sweep). A
                  variant that never ran is explained as an edit of the pipeline as written
                  ("param \`margin\` 0.2 → 0.5"); one that ran, against its own last run.
  --json          one JSON object per stage: {"type":"plan","stage","uses","status","reasons","key"}
                  (and "variant" with --set)
  --force STAGE   plan as if STAGE were forced (repeatable)
  --only STAGE    plan only STAGE and what it needs (repeatable)
  --store DIR     the store (default .tomoprior, or $TOMOPRIOR_STORE)
  --backend B     as for \`run\``,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      set: { type: "string", multiple: true },
      json: { type: "boolean" },
      force: { type: "string", multiple: true },
      only: { type: "string", multiple: true },
      store: { type: "string" },
      backend: { type: "string" }
    })
    const file = onePipelineFile(positionals, io)
    const backend = backendOverride(values.backend, io)
    const program = Effect.gen(function* () {
      const variants = yield* resolveVariants(file, { backend, set: values.set })
      const lock = yield* Effect.promise(() => readLock(lockPathFor(variants[0].file)))
      return yield* Effect.forEach(variants, (pipeline) =>
        Effect.map(planPipeline(pipeline, lock, { force: values.force, only: values.only }), (plans) => ({
          variant: pipeline.variant,
          plans
        }))
      )
    }).pipe(Effect.provide(Layer.mergeAll(builtinRegistry, Store.layer(storeDir(values.store, io)))))
    return runCommandEffect(program, io, (planned) => {
      for (const { variant, plans } of planned) {
        if (values.json) {
          for (const p of plans) io.stdout(JSON.stringify({ type: "plan", ...(variant ? { variant: variant.name } : {}), ...p }) + "\n")
          continue
        }
        if (variant) io.stdout(`variant ${variant.name}:\n`)
        const indent = variant ? "  " : ""
        const width = Math.max(...plans.map((p) => p.stage.length), 5)
        for (const p of plans)
          io.stdout(
            `${indent}${p.stage.padEnd(width)}  ${p.status === "cached" ? "cached" : "run   "}  ${p.status === "cached" ? "" : p.reasons.join("; ")}\n`.replace(
              / +\n$/,
              "\n"
            )
          )
        const n = plans.filter((p) => p.status === "run").length
        io.stdout(`${indent}${n} of ${plans.length} stage${plans.length === 1 ? "" : "s"} would run\n`)
      }
      return EXIT_OK
    })
  }
}
