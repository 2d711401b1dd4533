/**
 * The benchmark contract (DESIGN.md §10). `tomoprior bench <name>` loads `bench/<name>.ts`, whose
 * default export is a `Bench`; each measured figure is emitted as one record, printed as a table row
 * or, with `--json`, as one JSON line.
 */
export interface BenchRecord {
  readonly bench: string
  readonly metric: string
  readonly value: number
  readonly unit: string
  readonly config: Readonly<Record<string, unknown>>
}

export interface BenchOptions {
  /** Finish in under a minute: smaller sizes, fewer repeats. */
  readonly quick: boolean
  readonly emit: (record: BenchRecord) => void
  /** Human-readable progress lines (stderr); silent under --json. */
  readonly log: (line: string) => void
}

export interface Bench {
  readonly name: string
  readonly description: string
  readonly run: (options: BenchOptions) => Promise<void>
}
