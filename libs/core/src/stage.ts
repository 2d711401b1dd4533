import type { Effect, Schema } from "effect"
import type { ArtifactKind, ArtifactRef, IndexOf } from "./artifacts.ts"
import type { Compute } from "./compute.ts"
import type { InputError, OutputError, StageError } from "./errors.ts"

export interface InputPort {
  readonly kind: ArtifactKind
  /** May be left unwired (e.g. finetune without an encoder = the random-init baseline). */
  readonly optional?: boolean
  /** Accepts a list of references (e.g. the report takes every Metrics of a pipeline). */
  readonly many?: boolean
  readonly description?: string
}

export type InputPorts = Readonly<Record<string, InputPort>>
export type OutputPorts = Readonly<Record<string, ArtifactKind>>

/** What a stage receives for each declared input port. */
export type ResolvedInputs<I extends InputPorts> = {
  readonly [K in keyof I]: I[K]["many"] extends true
    ? ReadonlyArray<ArtifactRef<I[K]["kind"]>>
    : I[K]["optional"] extends true
      ? ArtifactRef<I[K]["kind"]> | undefined
      : ArtifactRef<I[K]["kind"]>
}

export interface Progress {
  readonly done: number
  readonly total?: number
  /** What `done` counts: "slices", "steps", "volumes"… */
  readonly unit?: string
  readonly message?: string
  /** Live numbers worth showing: loss, slices/s… */
  readonly metrics?: Readonly<Record<string, number>>
}

export interface StageContext<P, I extends InputPorts, O extends OutputPorts> {
  readonly pipeline: string
  /**
   * Directory of the pipeline file: relative paths in params (e.g. ingest's `source` glob) resolve
   * against it, as `externalFiles` does. Absent outside the runner (unit tests): use the cwd.
   */
  readonly pipelineDir?: string
  readonly stageId: string
  readonly params: P
  readonly inputs: ResolvedInputs<I>
  /** An empty directory per output port, to be filled by the stage; moved into the store on success. */
  readonly outputs: { readonly [K in keyof O]: string }
  /**
   * Scratch space that survives an interrupted attempt of the same run (same cache key), for
   * checkpoints a later attempt resumes from. Deleted after the stage succeeds.
   */
  readonly workDir: string
  readonly progress: (p: Progress) => Effect.Effect<void>
  readonly log: (message: string) => Effect.Effect<void>
  /** Facts recorded in every output manifest's provenance (backend, versions, seeds…). */
  readonly provenance: (facts: Readonly<Record<string, unknown>>) => Effect.Effect<void>
  /**
   * An input artifact's `index.json`, decoded with its kind's schema: a missing, truncated or
   * foreign index is an InputError naming the file, the same for every stage.
   */
  readonly readIndex: <K extends ArtifactKind>(input: ArtifactRef<K>) => Effect.Effect<IndexOf<K>, InputError>
  /** Writes an output's `index.json`, checked against its kind's schema. */
  readonly writeIndex: <Port extends keyof O & string>(port: Port, index: IndexOf<O[Port]>) => Effect.Effect<void, OutputError>
  /** A file of an input artifact (`path` relative to it). */
  readonly readFile: (input: ArtifactRef, path: string) => Effect.Effect<Uint8Array, InputError>
  /** Writes a file into an output (`path` relative to it; directories are created). */
  readonly writeFile: (port: keyof O & string, path: string, data: string | Uint8Array) => Effect.Effect<void, OutputError>
}

export interface Resources {
  /** "all" = the stage needs the whole machine (training); otherwise a share of one slot. */
  readonly cpu: "all" | 1
}

export interface StageDef<P = any, I extends InputPorts = InputPorts, O extends OutputPorts = OutputPorts> {
  /** The name pipelines write after `uses:`. */
  readonly name: string
  /** Bump when outputs would change for the same inputs and params. */
  readonly version: string
  readonly description: string
  readonly inputs: I
  readonly outputs: O
  /** Decodes the YAML `with:` block; defaults live here. */
  readonly params: Schema.Codec<P, any, never, never>
  readonly resources?: Resources
  /**
   * `import.meta.url` of the stage's module. The runner hashes the source files of the package it
   * belongs to, so an edit to the implementation invalidates cached results.
   */
  readonly source: string
  /**
   * Files outside the store the stage will read (e.g. ingest's glob). Their content hashes become
   * part of the cache key; they are listed here so they are hashed before the stage runs.
   */
  readonly externalFiles?: (params: P, pipelineDir: string) => Effect.Effect<ReadonlyArray<string>, StageError>
  /** Does the work; compute (trainer, checkpoints, inference) comes from the `Compute` service. */
  readonly run: (ctx: StageContext<P, I, O>) => Effect.Effect<void, StageError, Compute>
}

/** Identity function that lets TypeScript infer a stage's generic parameters. */
export const defineStage = <P, const I extends InputPorts, const O extends OutputPorts>(def: StageDef<P, I, O>): StageDef<P, I, O> => def

/** What a plug-in package exports: `export const stages = [...]`. */
export interface StagePlugin {
  readonly stages: ReadonlyArray<StageDef>
}
