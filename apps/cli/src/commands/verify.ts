import { Effect } from "effect"
import { existsSync } from "node:fs"
import { relative, resolve } from "node:path"
import { Store, evictArtifacts, lockPathFor, readLock, storeLayout, verifyArtifacts } from "@tomoprior/runner"
import { type Command, EXIT_FAILED, EXIT_OK, UsageError, formatBytes, parseFlags, storeDir } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"
import { newRunId } from "./run.ts"

export const verify: Command = {
  name: "verify",
  summary: "re-hash stored results against their manifests; --repair evicts damaged ones",
  usage: `tomoprior verify [--pipeline F] [--repair] [--store DIR] [--wait SECONDS]

Re-reads every file of every artifact in the store (or only those F's lock file names) and checks it
against the artifact's manifest: missing files, changed sizes or content, files added afterwards,
an edited manifest. Lists each damaged artifact with the stage outputs that use it.
--repair removes the damaged artifacts and the run records naming them (holding the store's lease),
so the next run recomputes exactly the stages that produced them.

Exit codes: 0 nothing damaged (or all of it evicted with --repair), 1 damage found, 2 usage.`,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      pipeline: { type: "string" },
      repair: { type: "boolean" },
      store: { type: "string" },
      wait: { type: "string" }
    })
    if (positionals.length > 0)
      throw new UsageError({ message: `unexpected argument '${positionals[0]}' (the pipeline goes after --pipeline)` })
    const dir = storeDir(values.store, io)
    const { root } = storeLayout(dir)
    if (!existsSync(root)) {
      io.stdout(`no store at ${root}; nothing to verify\n`)
      return EXIT_OK
    }
    const pipeline = values.pipeline === undefined ? undefined : resolve(io.cwd, values.pipeline)
    const lockFile = pipeline && lockPathFor(pipeline)
    if (lockFile && !existsSync(lockFile))
      throw new UsageError({ message: `${relative(io.cwd, lockFile)} does not exist: ${values.pipeline} has not run on any store yet` })
    const repair = values.repair === true
    const program = Effect.gen(function* () {
      const lock = lockFile ? yield* Effect.promise(() => readLock(lockFile)) : undefined
      if (lockFile && !lock) return yield* new UsageError({ message: `${lockFile} is not a tomoprior lock file` })
      const report = yield* verifyArtifacts(lock)
      if (!repair || report.damaged.length === 0) return { report, evicted: undefined }
      const store = yield* Store
      const evicted = yield* Effect.scoped(
        Effect.gen(function* () {
          yield* store.lease({
            runId: newRunId(),
            waitSeconds: Number(values.wait ?? "0") || 0,
            notice: (m) => Effect.sync(() => io.stderr(`note: ${m}\n`))
          })
          return yield* evictArtifacts(report.damaged.map((d) => d.hash))
        })
      )
      return { report, evicted }
    }).pipe(Effect.provide(Store.layer(dir)))
    return runCommandEffect(program, io, ({ report, evicted }) => {
      const where = lockFile ? ` named by ${relative(io.cwd, lockFile)}` : ""
      io.stdout(
        `checked ${report.checked} artifact${report.checked === 1 ? "" : "s"}${where} (${report.files} files, ${formatBytes(report.bytes)}) in ${root}\n`
      )
      for (const d of report.damaged) {
        io.stdout(`damaged  artifacts/${d.hash}${d.names.length ? `  (${d.names.join(", ")})` : ""}\n`)
        for (const p of d.problems) io.stdout(`  ${p}\n`)
      }
      for (const a of report.absent)
        io.stdout(
          `absent   artifacts/${a.hash}${a.names.length ? `  (${a.names.join(", ")})` : ""}: not in this store; a run recomputes it\n`
        )
      const n = report.damaged.length
      const it = n === 1 ? "it" : "them"
      if (n === 0) {
        io.stdout("no damage found\n")
        return EXIT_OK
      }
      if (evicted) {
        io.stdout(
          `evicted ${n} damaged artifact${n === 1 ? "" : "s"} and ${evicted.length} run record${evicted.length === 1 ? "" : "s"}` +
            `${evicted.length ? ` (${evicted.join(", ")})` : ""}; the next run recomputes ${evicted.length === 1 ? "that stage" : "those stages"}\n`
        )
        return EXIT_OK
      }
      io.stdout(`${n} damaged artifact${n === 1 ? "" : "s"}; \`tomoprior verify --repair\` evicts ${it} so the next run recomputes ${it}\n`)
      return EXIT_FAILED
    })
  }
}
