import { Effect, Schema } from "effect"
import { mkdtempSync, readdirSync, statSync } from "node:fs"
import { mkdir } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import {
  type ArtifactKind,
  type ArtifactRef,
  type ComputeSettings,
  type InputPorts,
  type OutputPorts,
  type Progress,
  type ResolvedInputs,
  type StageDef,
  MANIFEST_SCHEMA_VERSION
} from "@tomoprior/core"

/**
 * Runs one stage outside the runner, for unit tests of stage libraries: decodes `params` with the
 * stage's own schema, gives it fresh output and work directories, and records what it reports.
 * The runner's end-to-end tests cover caching and the store; this only exercises `run`.
 */
export interface StageTestRun<O extends OutputPorts> {
  readonly outputs: { readonly [K in keyof O]: ArtifactRef }
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
export const artifactFromDir = (kind: ArtifactKind, dir: string, producer = "test"): ArtifactRef => ({
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

export const runStageForTest = <P, I extends InputPorts, O extends OutputPorts>(
  stage: StageDef<P, I, O>,
  options: {
    readonly params?: unknown
    readonly inputs?: ResolvedInputs<I>
    readonly workDir?: string
    readonly pipelineDir?: string
    readonly compute?: ComputeSettings
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
    yield* stage.run({
      pipeline: "test",
      ...(options.pipelineDir === undefined ? {} : { pipelineDir: options.pipelineDir }),
      stageId: stage.name,
      params,
      inputs: (options.inputs ?? {}) as ResolvedInputs<I>,
      outputs: outputs as { readonly [K in keyof O]: string },
      workDir,
      compute: options.compute ?? { backend: "auto", threads: 0 },
      progress: (p) => Effect.sync(() => void progress.push(p)),
      log: (m) => Effect.sync(() => void logs.push(m)),
      provenance: (facts) => Effect.sync(() => void Object.assign(provenance, facts))
    })
    const refs: Record<string, ArtifactRef> = {}
    for (const [name, kind] of Object.entries(stage.outputs)) refs[name] = artifactFromDir(kind, outputs[name], stage.name)
    return { outputs: refs as { readonly [K in keyof O]: ArtifactRef }, progress, logs, provenance, workDir }
  })
