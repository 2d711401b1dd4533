import { builtinRegistry } from "@tomoprior/catalog"
/**
 * `tomoprior bench runner`: what the runner itself costs. A 7-stage pipeline of synthetic stages
 * whose artifacts total ≥ 1 GiB (64 MiB with --quick) is run cold, then rerun unchanged. The rerun
 * must not re-read any data (hashes come from run records and the (dev, inode, size, mtime) cache),
 * so its overhead stays well under a second whatever the data size.
 *
 * This module is also the plug-in that provides the synthetic stages (its `stages` export), loaded
 * by the generated pipeline through `plugins: [<this file>]`.
 */
import { type ArtifactKind, Compute, defineStage } from "@tomoprior/core"
import { Effect, Layer, Schema } from "effect"
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { open } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EventSink, Executor, Store, diskUsage, findRepoRoot, resolvePipelineFile, runPipeline } from "@tomoprior/runner"
import type { Bench } from "./contract.ts"

const CHUNK = 4 << 20

/** Writes `mb` MiB as files of at most 64 MiB, from one reused buffer (first-touch of fresh memory is slow here). */
const writeData = (dir: string, mb: number, seed: number) =>
  Effect.promise(async () => {
    const buf = Buffer.alloc(CHUNK)
    for (let i = 0; i < CHUNK; i += 4) buf.writeUInt32LE((i * 2654435761 + seed) >>> 0, i)
    let left = mb << 20
    for (let f = 0; left > 0; f++) {
      const fh = await open(join(dir, `part-${f}.bin`), "w")
      for (let written = 0; written < 64 << 20 && left > 0;) {
        const n = Math.min(CHUNK, left)
        buf.writeUInt32LE(f * 1000003 + written, 0) // every chunk differs
        await fh.write(buf, 0, n)
        written += n
        left -= n
      }
      await fh.close()
    }
  })

const synthetic = (name: string, input: ArtifactKind | undefined, output: ArtifactKind) =>
  defineStage({
    name,
    version: "1",
    description: `Synthetic ${output} of \`mb\` MiB (runner benchmark).`,
    inputs: input ? { input: { kind: input } } : {},
    outputs: { out: output },
    params: Schema.Struct({ mb: Schema.Int, seed: Schema.Int }),
    source: import.meta.url,
    run: (ctx) => writeData(ctx.outputs.out, ctx.params.mb, ctx.params.seed)
  })

const CHAIN: ReadonlyArray<readonly [string, ArtifactKind | undefined, ArtifactKind]> = [
  ["bench-ingest", undefined, "VolumeSet"],
  ["bench-normalize", "VolumeSet", "VolumeSet"],
  ["bench-tuples", "VolumeSet", "TupleSet"],
  ["bench-pretrain", "TupleSet", "Encoder"],
  ["bench-finetune", "Encoder", "Segmenter"],
  ["bench-evaluate", "Segmenter", "Metrics"],
  ["bench-report", "Metrics", "Report"]
]

export const stages = CHAIN.map(([name, input, output]) => synthetic(name, input, output))

const pipelineYaml = (totalMb: number): string => {
  const sizes = [0.25, 0.25, 0.125, 0.125, 0.125, 0.0625, 0.0625].map((f) => Math.max(1, Math.round(f * totalMb)))
  const lines = CHAIN.map(
    ([name], i) => `  s${i}: { uses: ${name}, ${i ? `in: { input: s${i - 1}.out }, ` : ""}with: { mb: ${sizes[i]}, seed: ${i} } }`
  )
  return `pipeline: bench-runner\nplugins: [${JSON.stringify(import.meta.filename)}]\nstages:\n${lines.join("\n")}\n`
}

const repoRoot = findRepoRoot(import.meta.dirname)!

/** One in-process run as the CLI does it: the runner's services, loading the pipeline (plan), then run-done under the store's lease. */
const runOnce = async (file: string, storeDir: string) => {
  const t0 = performance.now()
  // The synthetic stages compute nothing.
  const executor = Executor.layerLocal.pipe(Layer.provide(Compute.unavailable("the runner benchmark's stages compute nothing")))
  const services = executor.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        builtinRegistry,
        Store.layer(storeDir),
        EventSink.layer(() => undefined)
      )
    )
  )
  const summary = await Effect.runPromise(
    Effect.gen(function* () {
      const pipeline = yield* resolvePipelineFile(file)
      return yield* runPipeline(pipeline, { runId: `bench-${randomBytes(3).toString("hex")}`, waitSeconds: 0, tool: "bench" })
    }).pipe(Effect.provide(services))
  )
  if (!summary.ok) throw new Error("benchmark pipeline failed")
  return { seconds: (performance.now() - t0) / 1000, ran: summary.ran }
}

const bench: Bench = {
  name: "runner",
  description: "cold run vs cached no-op rerun of a 7-stage pipeline with ≥ 1 GiB of artifacts",
  run: async ({ quick, emit, log }) => {
    const totalMb = quick ? 64 : 1024
    const dir = mkdtempSync(join(tmpdir(), "tomoprior-bench-runner-"))
    try {
      const file = join(dir, "bench.yaml")
      writeFileSync(file, pipelineYaml(totalMb))
      const store = join(dir, "store")
      const config = { stages: 7, artifactMiB: totalMb, quick }
      log(`cold run writing ${totalMb} MiB…`)
      const cold = await runOnce(file, store)
      const bytes = await diskUsage(join(store, "artifacts"))
      log(`cold run: ${cold.seconds.toFixed(2)} s, ${cold.ran} stages ran, ${(bytes / 2 ** 30).toFixed(2)} GiB in the store`)
      const reruns: Array<number> = []
      for (let i = 0; i < 5; i++) {
        const r = await runOnce(file, store)
        if (r.ran !== 0) throw new Error(`the unchanged rerun ran ${r.ran} stages`)
        reruns.push(r.seconds)
      }
      reruns.sort((a, b) => a - b)
      const median = reruns[2]
      const t0 = performance.now()
      const proc = spawnSync(process.execPath, [join(repoRoot, "apps/cli/bin/tomoprior.js"), "run", file, "--store", store], {
        cwd: dir,
        encoding: "utf8"
      })
      const processSeconds = (performance.now() - t0) / 1000
      if (proc.status !== 0) throw new Error(`tomoprior run exited ${proc.status}: ${proc.stderr}`)
      emit({ bench: "runner", metric: "cold_run_s", value: cold.seconds, unit: "s", config })
      emit({
        bench: "runner",
        metric: "noop_rerun_overhead_s",
        value: median,
        unit: "s",
        config: { ...config, measured: "in-process, load+plan+run, median of 5" }
      })
      emit({
        bench: "runner",
        metric: "noop_rerun_process_s",
        value: processSeconds,
        unit: "s",
        config: { ...config, measured: "whole `tomoprior run` process incl. Node/tsx start-up" }
      })
      emit({ bench: "runner", metric: "noop_over_cold_ratio", value: median / cold.seconds, unit: "x", config })
      emit({ bench: "runner", metric: "artifact_bytes", value: bytes, unit: "B", config })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export default bench
