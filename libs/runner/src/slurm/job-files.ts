import { ArtifactKindSchema, Backend, Manifest } from "@tomoprior/core"
import { Schema } from "effect"
import { join } from "node:path"
import type { StageInvocation } from "../executor.ts"

/**
 * The files of one stage's job, in its own directory under the store's `jobs/<runId>/` (so the
 * node sees them on the shared filesystem). The submitting process writes `job.json` and `job.sh`;
 * the job writes the rest.
 */
export interface JobFiles {
  readonly dir: string
  /** What to run: the run id, the store and the stage invocation. */
  readonly spec: string
  /** The batch script given to sbatch. */
  readonly script: string
  /** The job's stdout and stderr (sbatch --output). */
  readonly log: string
  /** One RunEvent per line (progress and log lines), relayed to the submitting terminal. */
  readonly events: string
  /** How the stage ended: its provenance, or its error. Written by `tomoprior job`. */
  readonly result: string
  /** The exit code of `tomoprior job`, written by the batch script (the record of clusters without accounting). */
  readonly exitCode: string
}

export const jobFiles = (dir: string): JobFiles => ({
  dir,
  spec: join(dir, "job.json"),
  script: join(dir, "job.sh"),
  log: join(dir, "job.log"),
  events: join(dir, "events.jsonl"),
  result: join(dir, "result.json"),
  exitCode: join(dir, "exit-code")
})

/** A stage id as a file name and part of a job name: matrix ids hold brackets, commas and `=`. */
export const safeName = (stageId: string): string => stageId.replace(/[^A-Za-z0-9_.=+-]/g, "_")

const ArtifactRefSchema = Schema.Struct({
  kind: ArtifactKindSchema,
  dir: Schema.String,
  hash: Schema.String,
  manifest: Manifest,
  producer: Schema.String
})

const SlurmOptionsSchema = Schema.Struct({
  partition: Schema.optionalKey(Schema.String),
  time: Schema.optionalKey(Schema.String),
  mem: Schema.optionalKey(Schema.String),
  cpusPerTask: Schema.optionalKey(Schema.Number),
  gres: Schema.optionalKey(Schema.String),
  account: Schema.optionalKey(Schema.String),
  qos: Schema.optionalKey(Schema.String),
  extra: Schema.optionalKey(Schema.Array(Schema.String))
})

const StageInvocationSchema = Schema.Struct({
  pipeline: Schema.String,
  pipelineDir: Schema.String,
  plugins: Schema.Array(Schema.String),
  stageId: Schema.String,
  uses: Schema.String,
  key: Schema.String,
  params: Schema.Unknown,
  // JSON drops an unwired optional port; the stage sees it as undefined either way.
  inputs: Schema.Record(Schema.String, Schema.Union([ArtifactRefSchema, Schema.Array(ArtifactRefSchema)])),
  outputs: Schema.Record(Schema.String, Schema.String),
  workDir: Schema.String,
  compute: Schema.Struct({ backend: Backend, threads: Schema.Number }),
  resources: Schema.Struct({ cpu: Schema.Literals(["all", 1]), slurm: SlurmOptionsSchema })
})

export const JobSpec = Schema.Struct({
  runId: Schema.String,
  /** The store's root: the job checks that the run which submitted it still holds it. */
  store: Schema.String,
  invocation: StageInvocationSchema
})
export interface JobSpec {
  readonly runId: string
  readonly store: string
  readonly invocation: StageInvocation
}

export const JobResult = Schema.Union([
  Schema.Struct({ ok: Schema.Literal(true), provenance: Schema.Record(Schema.String, Schema.Unknown) }),
  Schema.Struct({ ok: Schema.Literal(false), error: Schema.String, message: Schema.String })
])
export type JobResult = typeof JobResult.Type

/** `'…'` for sh: the only character needing care inside single quotes is the quote itself. */
const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`

/**
 * The batch script: the site's setup lines, then `tomoprior job <dir>`, then its exit code into a
 * file (written then renamed, so a reader never sees it half-written). Slurm's own record of the
 * job can be gone when the submitting process looks (no accounting, MinJobAge passed); the file is not.
 */
export const batchScript = (files: JobFiles, command: ReadonlyArray<string>, setup: ReadonlyArray<string>, title: string): string =>
  [
    "#!/bin/sh",
    `# ${title}`,
    `cd ${quote(files.dir)} || exit 1`,
    ...setup,
    `${[...command, "job", files.dir].map(quote).join(" ")}`,
    "code=$?",
    `echo "$code" > ${quote(files.exitCode + ".tmp")} && mv ${quote(files.exitCode + ".tmp")} ${quote(files.exitCode)}`,
    'exit "$code"',
    ""
  ].join("\n")
