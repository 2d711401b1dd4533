import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { Bench, BenchRecord } from "../../../../bench/contract.ts"
import { type Command, EXIT_FAILED, EXIT_OK, UsageError, parseFlags, repoRoot } from "../command.ts"

const available = (dir: string): Array<string> =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".ts") && f !== "contract.ts" && !f.endsWith(".test.ts"))
        .map((f) => f.slice(0, -3))
        .sort()
    : []

export const bench: Command = {
  name: "bench",
  summary: "run a benchmark from bench/<name>.ts",
  usage: `tomoprior bench <name> [--quick] [--json] [--only <section>]

Runs bench/<name>.ts (contract: bench/contract.ts) and prints its figures as a table, or with --json
one object per line: {"bench","metric","value","unit","config"}. --quick finishes in under a minute.
--only runs just the sections whose name contains the text (for benches made of sections).`,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, { quick: { type: "boolean" }, json: { type: "boolean" }, only: { type: "string" } })
    const dir = join(repoRoot(), "bench")
    const names = available(dir)
    if (positionals.length !== 1 || !names.includes(positionals[0]))
      throw new UsageError(
        `${positionals.length === 1 ? `no benchmark '${positionals[0]}'` : "name one benchmark"}; available: ${names.join(", ") || "(none)"}`
      )
    const mod = (await import(pathToFileURL(join(dir, `${positionals[0]}.ts`)).href)) as { default: Bench }
    const only = values.only
    if (only !== undefined && !(mod.default.sections ?? []).some((name) => name.includes(only))) {
      const sections = mod.default.sections
      throw new UsageError(
        sections === undefined
          ? `bench ${positionals[0]} has no sections to pick with --only`
          : `no section of bench ${positionals[0]} matches '${only}'; sections: ${sections.join("; ")}`
      )
    }
    const records: Array<BenchRecord> = []
    try {
      await mod.default.run({
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
