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
  /** `--only <text>`: run just the sections whose name contains it (checked by the CLI). */
  readonly only?: string
  readonly emit: (record: BenchRecord) => void
  /** Human-readable progress lines (stderr); silent under --json. */
  readonly log: (line: string) => void
}

export interface Bench {
  readonly name: string
  readonly description: string
  /** Names of the parts `--only` can pick; a bench without them always runs whole. */
  readonly sections?: ReadonlyArray<string>
  readonly run: (options: BenchOptions) => Promise<void>
}
