import { type Backend, BACKENDS } from "@tomoprior/core"
import { findRepoRoot, DEFAULT_STORE } from "@tomoprior/runner"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs, type ParseArgsConfig } from "node:util"
import { Schema } from "effect"

/** Where a command reads and writes; the bin passes the process's, tests pass their own. */
export interface Io {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly isTTY: boolean
  readonly cwd: string
  readonly env: Readonly<Record<string, string | undefined>>
  /** Aborted on SIGINT/SIGTERM: the running command interrupts cleanly. */
  readonly signal?: AbortSignal
}

/** A CLI command. Adding one = a module exporting this + one line in commands/index.ts. */
export interface Command {
  readonly name: string
  readonly summary: string
  /** Full help text, printed by `tomoprior <name> --help`. */
  readonly usage: string
  /** Returns the exit code: 0 ok, 1 a stage (or the run) failed, 2 invalid pipeline or usage. */
  readonly run: (argv: ReadonlyArray<string>, io: Io) => Promise<number>
}

export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_INVALID = 2
export const EXIT_INTERRUPTED = 130

/** The command line itself is wrong (unknown flag, missing file, bad value): exit code 2 and the usage text. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", { message: Schema.String }) {}

/** node:util parseArgs with usage errors instead of stack traces. */
export const parseFlags = <const O extends NonNullable<ParseArgsConfig["options"]>>(argv: ReadonlyArray<string>, options: O) => {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true })
  } catch (e) {
    throw new UsageError({ message: (e as Error).message })
  }
}

/** The repository this CLI belongs to (where the workspace's stage libraries are). */
export const repoRoot = (): string => findRepoRoot(dirname(fileURLToPath(import.meta.url))) ?? process.cwd()

export const storeDir = (flag: string | undefined, io: Io): string => resolve(io.cwd, flag ?? io.env.TOMOPRIOR_STORE ?? DEFAULT_STORE)

export const backendOverride = (flag: string | undefined, io: Io): Backend | undefined => {
  const b = flag ?? io.env.TOMOPRIOR_BACKEND
  if (b === undefined || b === "") return undefined
  if (!(BACKENDS as ReadonlyArray<string>).includes(b))
    throw new UsageError({ message: `unknown backend '${b}' (one of: ${BACKENDS.join(", ")})` })
  return b as Backend
}

export const onePipelineFile = (positionals: ReadonlyArray<string>, io: Io): string => {
  if (positionals.length !== 1)
    throw new UsageError({
      message: positionals.length === 0 ? "missing the pipeline file" : `expected one pipeline file, got ${positionals.length}`
    })
  return resolve(io.cwd, positionals[0])
}

export const formatBytes = (n: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let i = 0
  while (n >= 1024 && i < units.length - 1) [n, i] = [n / 1024, i + 1]
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}
