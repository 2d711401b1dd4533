import { Effect, Layer } from "effect"
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { computeLayer } from "@tomoprior/compute/layer"
import { Compute, encodeSlices, InputError } from "@tomoprior/core"
import { readArtifactIndex } from "@tomoprior/runner"
import { embeddingFiles, type VolumeEmbedding, volumeEmbedding } from "@tomoprior/stage-embed"
import { openSource } from "@tomoprior/volume"
import { backendOverride, type Command, EXIT_OK, parseFlags, storeDir, UsageError } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"
import { modelArtifact, parseWindow, percentileWindow, SOURCE_FLAGS, sourceOptions, windowedSlices } from "../sources.ts"

const USAGE = `tomoprior embed VOLUME... --encoder ENCODER --out DIR [--window LO,HI] [--batch N] [--json]

Every slice of each volume through an encoder, written for numpy, pandas or any CSV reader:
  DIR/<name>/embeddings.npy   float32 [slices, dims]: the encoder's pooled features per slice
  DIR/<name>/scores.npy       float32 [slices]: the slice scores (encoders with a score head)
  DIR/embeddings.csv          one row per slice: volume, slice, position, score, pc1, pc2, e0, e1, …
  DIR/index.json              what is where, each volume's window, the 2D PCA projection of all slices
(<name> is the file name without its extensions.)

VOLUME        any volume ingest reads (NIfTI, TIFF, DICOM series, HDF5, Zarr, a stored volume)
--encoder     an Encoder artifact directory, or PIPELINE.yaml:STAGE (its last recorded run)
--out DIR     a new or empty directory; written whole at the end (nothing half-written on a failure)
--window LO,HI  intensity window mapped to [0, 1] (default: each volume's 1st–99.5th percentiles;
              give the window the encoder's pipeline normalized with when it used a fixed one;
              a negative LO needs the = form: --window=-1000,400)
--batch N     slices per inference batch (default 32)
--series, --dataset, --level   as for volume-info
--backend B   compute backend (default $TOMOPRIOR_BACKEND, else auto)
--store DIR   the store PIPELINE.yaml ran in (default .tomoprior)
--json        print the index (with the output directory) as JSON`

/** A volume's name in the output: its file name up to the first dot, made file-safe and unique. */
const volumeNames = (paths: ReadonlyArray<string>): Array<string> => {
  const seen = new Map<string, number>()
  return paths.map((p) => {
    const stem =
      basename(p)
        .replace(/\..*$/, "")
        .replace(/[^\w.-]+/g, "_") || "volume"
    const n = (seen.get(stem) ?? 0) + 1
    seen.set(stem, n)
    return n === 1 ? stem : `${stem}-${n}`
  })
}

export const embed: Command = {
  name: "embed",
  summary: "per-slice embeddings and scores of volumes from an encoder, as .npy and CSV",
  usage: USAGE,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      encoder: { type: "string" },
      out: { type: "string" },
      window: { type: "string" },
      batch: { type: "string" },
      ...SOURCE_FLAGS,
      backend: { type: "string" },
      store: { type: "string" },
      json: { type: "boolean" }
    })
    if (positionals.length === 0) throw new UsageError({ message: "expected at least one VOLUME" })
    if (!values.encoder) throw new UsageError({ message: "--encoder is required (an Encoder artifact directory or PIPELINE.yaml:STAGE)" })
    if (!values.out) throw new UsageError({ message: "--out DIR is required" })
    const batch = Number(values.batch ?? 32)
    if (!(Number.isInteger(batch) && batch >= 1)) throw new UsageError({ message: `--batch ${values.batch}: expected a whole number ≥ 1` })
    const window = parseWindow(values.window)
    const options = sourceOptions(values)
    const backend = backendOverride(values.backend, io) ?? "auto"
    const paths = positionals.map((p) => resolve(io.cwd, p))
    const out = resolve(io.cwd, values.out)
    const program = Effect.gen(function* () {
      if (existsSync(out) && readdirSync(out).length > 0)
        return yield* new InputError({ file: out, problem: "--out exists and is not empty; give a new or empty directory" })
      const { dir } = yield* modelArtifact(values.encoder!, ["Encoder"], io, storeDir(values.store, io))
      const index = yield* readArtifactIndex(dir, "Encoder")
      const model = yield* (yield* Compute).encoderModel(join(dir, index.model), index.inputSize)
      const names = volumeNames(paths)
      const embedded: Array<VolumeEmbedding> = []
      const windows: Array<readonly [number, number]> = []
      for (const [n, path] of paths.entries()) {
        const source = yield* openSource(path, options)
        const range = window ?? (yield* percentileWindow(source))
        windows.push(range)
        embedded.push(volumeEmbedding(names[n], yield* encodeSlices(model, windowedSlices(source, range), batch), model.outputSize))
        if (!values.json) io.stderr(`${names[n]}: ${source.dims[0]} slices embedded (window ${range.join(", ")})\n`)
      }
      const { files, index: embeddings } = embeddingFiles(index.method, embedded)
      const written = { kind: "Embeddings" as const, ...embeddings, encoder: dir, read: paths, windows }
      const partial = join(dirname(out), `.${basename(out)}.partial-${process.pid}`)
      yield* Effect.acquireUseRelease(
        Effect.sync(() => mkdirSync(partial, { recursive: true })),
        () =>
          Effect.try({
            try: () => {
              for (const f of files) {
                mkdirSync(dirname(join(partial, f.path)), { recursive: true })
                writeFileSync(join(partial, f.path), f.data)
              }
              writeFileSync(join(partial, "index.json"), JSON.stringify(written, null, 2) + "\n")
              if (existsSync(out)) rmSync(out, { recursive: true })
              renameSync(partial, out)
            },
            catch: (e) => new InputError({ file: out, problem: `cannot write: ${e instanceof Error ? e.message : String(e)}` })
          }),
        () => Effect.sync(() => rmSync(partial, { recursive: true, force: true }))
      )
      return written
    })
    const layer = computeLayer({ backend, threads: 0 })
    return runCommandEffect(Effect.scoped(program).pipe(Effect.provide(Layer.fresh(layer))), io, (r) => {
      if (values.json) io.stdout(JSON.stringify({ ...r, out }) + "\n")
      else {
        const lines = r.volumes.map(
          (v) =>
            `${v.id}: ${v.slices} slices → ${join(out, v.embeddings)} [${v.slices}, ${r.dims}]${v.scores ? `, ${join(out, v.scores)}` : ""}`
        )
        const [pc1, pc2] = r.explainedVariance.map((v) => (100 * v).toFixed(1))
        lines.push(`every slice: ${join(out, r.csv)} (PC1 and PC2 of the embeddings explain ${pc1} % and ${pc2} % of the variance)`)
        lines.push(`encoder ${r.encoder} (${r.method})`)
        io.stdout(lines.join("\n") + "\n")
      }
      return EXIT_OK
    })
  }
}
