import { Effect } from "effect"
import { existsSync } from "node:fs"
import { relative } from "node:path"
import { Store, collectGarbage, storeLayout } from "@tomoprior/runner"
import { type Command, EXIT_OK, formatBytes, parseFlags, storeDir } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"
import { newRunId } from "./run.ts"

export const gc: Command = {
  name: "gc",
  summary: "delete store entries no lock file references",
  usage: `tomoprior gc [--dry-run] [--store DIR] [--wait SECONDS]

Keeps every artifact and run record referenced by a lock file in ./pipelines/ or by any lock file a
run on this store wrote (the store keeps a copy of each under roots/, so a run of the same pipeline
on another store does not unpin this store's results); deletes the rest, plus scratch and temp
directories. A deleted lock file pins nothing.
--dry-run lists what would go and how many bytes it would free.`,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      "dry-run": { type: "boolean" },
      store: { type: "string" },
      wait: { type: "string" }
    })
    if (positionals.length > 0) io.stderr(`ignoring extra arguments: ${positionals.join(" ")}\n`)
    const dir = storeDir(values.store, io)
    const { root } = storeLayout(dir)
    if (!existsSync(root)) {
      io.stdout(`no store at ${root}; nothing to do\n`)
      return EXIT_OK
    }
    const dryRun = values["dry-run"] === true
    const program = Effect.scoped(
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.lease({
          runId: newRunId(),
          waitSeconds: Number(values.wait ?? "0") || 0,
          notice: (m) => Effect.sync(() => io.stderr(`note: ${m}\n`))
        })
        return yield* collectGarbage(io.cwd, dryRun)
      })
    ).pipe(Effect.provide(Store.layer(dir)))
    return runCommandEffect(program, io, (report) => {
      io.stdout(`roots: ${report.lockFiles.length ? report.lockFiles.map((f) => relative(io.cwd, f)).join(", ") : "(no lock files)"}\n`)
      for (const r of report.removed)
        io.stdout(`${dryRun ? "would delete" : "deleted"}  ${relative(root, r.path)}  ${formatBytes(r.bytes)}\n`)
      io.stdout(
        `${dryRun ? "would free" : "freed"} ${formatBytes(report.bytes)} (${report.bytes} ` +
          `bytes) in ${report.removed.length} entr${report.removed.length === 1 ? "y" : "ies"}\n`
      )
      return EXIT_OK
    })
  }
}
