import { NothingToCompare, runLabels, selectRuns, variantReportData } from "@tomoprior/compare"
import { Store, writeTextAtomic } from "@tomoprior/runner"
import { buildReport } from "@tomoprior/stage-report"
import { Effect } from "effect"
import { relative, resolve } from "node:path"
import { type Command, EXIT_OK, UsageError, parseFlags, storeDir } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"

export const report: Command = {
  name: "report",
  summary: "one HTML report over several recorded runs or --set variants, on shared charts",
  usage: `tomoprior report [<pipeline.yaml> | <lock.json> | <run id>]... [options]

Builds the report page (as the report stage does) over the results of several runs: each method is
named after its run — "sorting (sorting.margin=0.1)" — so the variants of one method sit side by
side in every table and on every chart (IoU against label fraction, pre-training curves, …), in
shades of the method's color. Runs are chosen as for \`compare\`.

  <pipeline.yaml>   every run its lock file records (as written and each --set variant)
  <lock.json>       the same, naming the lock file
  <run id>          the variants one \`tomoprior run\` wrote
  --all             every run this store recorded
  --set S.P=V       only these variants (repeatable, commas for several)
  --out FILE        where to write the page (default: <pipeline>.variants.html here)
  --title TEXT      the page title
  --store DIR       where the results are (default .tomoprior, or $TOMOPRIOR_STORE)`,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      all: { type: "boolean" },
      set: { type: "string", multiple: true },
      out: { type: "string" },
      title: { type: "string" },
      store: { type: "string" }
    })
    const program = Effect.gen(function* () {
      const store = yield* Store
      const runs = yield* selectRuns({ targets: positionals, set: values.set, all: values.all, cwd: io.cwd }, yield* store.rootCopies)
      const inputs = yield* variantReportData(runs, runLabels(runs), store.layout)
      const pipelines = [...new Set(runs.map((r) => r.pipeline))]
      const title = values.title ?? `tomoprior — ${pipelines.join(", ")}: ${runs.length} run${runs.length === 1 ? "" : "s"} compared`
      const html = yield* Effect.promise(() => buildReport({ title, ...inputs }))
      const out = resolve(io.cwd, values.out ?? `${pipelines[0]}.variants.html`)
      yield* Effect.promise(() => writeTextAtomic(out, html))
      return out
    }).pipe(
      Effect.mapError((e) => (e instanceof NothingToCompare ? new UsageError({ message: e.message }) : e)),
      Effect.provide(Store.layer(storeDir(values.store, io)))
    )
    return runCommandEffect(program, io, (out) => {
      const shown = relative(io.cwd, out)
      io.stdout(`report: ${shown.startsWith("..") ? out : shown}\n`)
      return EXIT_OK
    })
  }
}
