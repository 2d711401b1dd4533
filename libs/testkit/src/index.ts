import { Effect, type Layer, Schema } from "effect"
import { mkdtempSync, readdirSync, statSync } from "node:fs"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import {
  type ArtifactKind,
  type ArtifactRef,
  Compute,
  type InputPorts,
  makeStageContext,
  type OutputPorts,
  type Progress,
  type ResolvedInputs,
  type StageDef,
  type StageFiles,
  MANIFEST_SCHEMA_VERSION
} from "@tomoprior/core"

/**
 * Runs one stage outside the runner, for unit tests of stage libraries: decodes `params` with the
 * stage's own schema, gives it fresh output and work directories, and records what it reports.
 * The runner's end-to-end tests cover caching and the store; this only exercises `run`.
 */
export interface StageTestRun<O extends OutputPorts> {
  readonly outputs: { readonly [K in keyof O]: ArtifactRef<O[K]> }
  readonly progress: ReadonlyArray<Progress>
  readonly logs: ReadonlyArray<string>
  readonly provenance: Record<string, unknown>
  readonly workDir: string
}

export const tempDir = (prefix = "tomoprior-test-"): string => mkdtempSync(join(tmpdir(), prefix))

const listFiles = (dir: string): Array<{ path: string; size: number; hash: string }> => {
  const out: Array<{ path: string; size: number; hash: string }> = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out.push({ path: relative(dir, p), size: statSync(p).size, hash: "unhashed" })
    }
  }
  walk(dir)
  return out.sort((a, b) => (a.path < b.path ? -1 : 1))
}

/** Wraps an existing directory as an input artifact (files are listed, not hashed). */
export const artifactFromDir = <K extends ArtifactKind>(kind: K, dir: string, producer = "test"): ArtifactRef<K> => ({
  kind,
  dir,
  hash: `test:${dir}`,
  producer,
  manifest: {
    kind,
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    hash: `test:${dir}`,
    files: listFiles(dir),
    provenance: { pipeline: "test", stage: producer, uses: producer, key: "test", startedAt: "", endedAt: "", tool: "test", extra: {} }
  }
})

/** Node's file system under a test's stage context. */
const files: StageFiles = {
  read: (file) => readFile(file),
  write: (file, data) => mkdir(dirname(file), { recursive: true }).then(() => writeFile(file, data))
}

export const runStageForTest = <P, I extends InputPorts, O extends OutputPorts>(
  stage: StageDef<P, I, O>,
  options: {
    readonly params?: unknown
    readonly inputs?: ResolvedInputs<I>
    readonly workDir?: string
    readonly pipelineDir?: string
    /** The stage's Compute (e.g. compute's `computeLayer({ backend: "wasm", threads: 1 })`); default: none, every call fails. */
    readonly compute?: Layer.Layer<Compute>
    /** Sees every progress report as it happens. */
    readonly onProgress?: (p: Progress) => void
    /** Interrupts the stage (as Ctrl-C would) once a progress report reaches this `done`. */
    readonly stopAt?: number
  }
): Effect.Effect<StageTestRun<O>, unknown> =>
  Effect.gen(function* () {
    const params = yield* Schema.decodeUnknownEffect(stage.params)(options.params ?? {})
    const root = tempDir(`tomoprior-${stage.name}-`)
    const outputs: Record<string, string> = {}
    for (const name of Object.keys(stage.outputs)) {
      outputs[name] = join(root, "out", name)
      yield* Effect.promise(() => mkdir(outputs[name], { recursive: true }))
    }
    const workDir = options.workDir ?? join(root, "work")
    yield* Effect.promise(() => mkdir(workDir, { recursive: true }))
    const progress: Array<Progress> = []
    const logs: Array<string> = []
    const provenance: Record<string, unknown> = {}
    const ctx = makeStageContext(
      stage,
      {
        pipeline: "test",
        ...(options.pipelineDir === undefined ? {} : { pipelineDir: options.pipelineDir }),
        stageId: stage.name,
        params,
        inputs: (options.inputs ?? {}) as ResolvedInputs<I>,
        outputs: outputs as { readonly [K in keyof O]: string },
        workDir,
        progress: (p) =>
          Effect.suspend(() => {
            progress.push(p)
            options.onProgress?.(p)
            return options.stopAt !== undefined && p.done >= options.stopAt ? Effect.interrupt : Effect.void
          }),
        log: (m) => Effect.sync(() => void logs.push(m)),
        provenance: (facts) => Effect.sync(() => void Object.assign(provenance, facts))
      },
      files
    )
    yield* stage.run(ctx).pipe(Effect.provide(options.compute ?? Compute.unavailable("this stage test provides no compute")))
    const refs: Record<string, ArtifactRef> = {}
    for (const [name, kind] of Object.entries(stage.outputs)) refs[name] = artifactFromDir(kind, outputs[name], stage.name)
    return { outputs: refs as { readonly [K in keyof O]: ArtifactRef<O[K]> }, progress, logs, provenance, workDir }
  })

export { SIZE, tinyVolumeSet } from "./volumes.ts"
export { checkParamsTable } from "./readme.ts"
export { hasCommand, hasPythonModules, PYTHON, run } from "./tools.ts"
