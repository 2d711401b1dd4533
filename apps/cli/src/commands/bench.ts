import { type BenchRecord, benches } from "@tomoprior/bench"
import { type Command, EXIT_FAILED, EXIT_OK, UsageError, parseFlags } from "../command.ts"

export const bench: Command = {
  name: "bench",
  summary: "run a benchmark (compute, ingest, pretrain, runner)",
  usage: `tomoprior bench <name> [--quick] [--json] [--only <section>]

Runs one of the benchmarks in bench/src (contract: bench/src/contract.ts) and prints its figures as a table, or with --json
one object per line: {"bench","metric","value","unit","config"}. --quick finishes in under a minute.
--only runs just the sections whose name contains the text (for benches made of sections).`,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, { quick: { type: "boolean" }, json: { type: "boolean" }, only: { type: "string" } })
    const names = Object.keys(benches).sort()
    if (positionals.length !== 1 || !names.includes(positionals[0]))
      throw new UsageError({
        message: `${positionals.length === 1 ? `no benchmark '${positionals[0]}'` : "name one benchmark"}; available: ${names.join(", ") || "(none)"}`
      })
    const chosen = await benches[positionals[0]]()
    const only = values.only
    if (only !== undefined && !(chosen.sections ?? []).some((name) => name.includes(only))) {
      const sections = chosen.sections
      throw new UsageError({
        message:
          sections === undefined
            ? `bench ${positionals[0]} has no sections to pick with --only`
            : `no section of bench ${positionals[0]} matches '${only}'; sections: ${sections.join("; ")}`
      })
    }
    const records: Array<BenchRecord> = []
    try {
      await chosen.run({
        quick: values.quick === true,
        ...(typeof values.only === "string" ? { only: values.only } : {}),
        emit: (r) => {
          records.push(r)
          if (values.json) io.stdout(JSON.stringify(r) + "\n")
        },
        log: (line) => {
          if (!values.json) io.stderr(line + "\n")
        }
      })
    } catch (e) {
      io.stderr(`benchmark ${positionals[0]} failed: ${(e as Error).message}\n`)
      return EXIT_FAILED
    }
    if (!values.json) {
      const w = Math.max(6, ...records.map((r) => r.metric.length))
      io.stdout(`${"metric".padEnd(w)}  ${"value".padStart(12)}  unit\n`)
      for (const r of records) io.stdout(`${r.metric.padEnd(w)}  ${String(Number(r.value.toPrecision(6))).padStart(12)}  ${r.unit}\n`)
    }
    return EXIT_OK
  }
}
