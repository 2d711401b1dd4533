import { NothingToCompare, comparisonMarkdown, comparisonText, compareRuns, selectRuns } from "@tomoprior/compare"
import { Store } from "@tomoprior/runner"
import { Effect } from "effect"
import { type Command, EXIT_OK, UsageError, parseFlags, storeDir } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"

export const compare: Command = {
  name: "compare",
  summary: "recorded runs and --set variants side by side: changed params, headline metrics",
  usage: `tomoprior compare [<pipeline.yaml> | <lock.json> | <run id>]... [options]

One column per run, one row per param that differs between them, then the headline metrics of
their results: each encoder's held-out figures (spearman, pairsCorrect, …), the mean foreground IoU
on held-out volumes per pre-training × label budget (± sample std over seeds), localization figures.
With exactly two runs a last column gives the difference (second − first).

  <pipeline.yaml>   the runs its lock file records: the pipeline as written and every --set variant
  <lock.json>       the same, naming the lock file
  <run id>          the variants one \`tomoprior run\` wrote (it prints "run <id>: …")
  --all             every run this store recorded (its copies of the lock files it wrote)
  --set S.P=V       only these variants (as \`run --set\` names them; repeatable, commas for several)
  --json            the comparison as one JSON object
  --md              a Markdown table
  --store DIR       where the results are (default .tomoprior, or $TOMOPRIOR_STORE)

Example: tomoprior run pipelines/pretrain-demo.yaml --set sorting.margin=0.1,0.5
         tomoprior compare pipelines/pretrain-demo.yaml`,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      all: { type: "boolean" },
      set: { type: "string", multiple: true },
      json: { type: "boolean" },
      md: { type: "boolean" },
      store: { type: "string" }
    })
    if (values.json && values.md) throw new UsageError({ message: "choose one of --json and --md" })
    const program = Effect.gen(function* () {
      const store = yield* Store
      const runs = yield* selectRuns({ targets: positionals, set: values.set, all: values.all, cwd: io.cwd }, yield* store.rootCopies)
      return yield* compareRuns(runs, store.layout)
    }).pipe(
      Effect.mapError((e) => (e instanceof NothingToCompare ? new UsageError({ message: e.message }) : e)),
      Effect.provide(Store.layer(storeDir(values.store, io)))
    )
    return runCommandEffect(program, io, (comparison) => {
      io.stdout(
        values.json ? JSON.stringify(comparison, null, 1) + "\n" : values.md ? comparisonMarkdown(comparison) : comparisonText(comparison)
      )
      return EXIT_OK
    })
  }
}
