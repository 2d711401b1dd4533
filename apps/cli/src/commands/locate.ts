import { Effect, Layer } from "effect"
import { join, resolve } from "node:path"
import { computeLayer } from "@tomoprior/compute/layer"
import { Compute, encodeSlices, InputError } from "@tomoprior/core"
import { readArtifactIndex } from "@tomoprior/runner"
import { locateInReference, RUNNER_UP_SLICES } from "@tomoprior/stage-localize"
import { openSource } from "@tomoprior/volume"
import { backendOverride, type Command, EXIT_OK, parseFlags, storeDir, UsageError } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"
import { modelArtifact, parseWindow, percentileWindow, SOURCE_FLAGS, sliceSpacing, sourceOptions, windowedSlices } from "../sources.ts"

const USAGE = `tomoprior locate SCAN --in REFERENCE --encoder ENCODER [--window LO,HI] [--json]

Where a partial scan sits inside a full one along the slice axis: the reference slice where the
scan's first slice lies (offset), reference slices per scan slice (scale), and a confidence.

SCAN, REFERENCE  any volume ingest reads (NIfTI, TIFF, DICOM series, HDF5, Zarr, a stored volume)
--encoder        an Encoder artifact directory, or PIPELINE.yaml:STAGE (its last recorded run)
--window LO,HI   intensity window mapped to [0, 1] for both (default: the reference's 1st–99.5th
                 percentiles, as pipelines/real-ct-pretrain.yaml normalizes; a crop's own percentiles
                 would differ, so the scan gets the reference's window)
--series, --dataset, --level   as for volume-info, applied to both volumes
--backend B      compute backend (default $TOMOPRIOR_BACKEND, else auto)
--store DIR      the store PIPELINE.yaml ran in (default .tomoprior)

Both scans are described slice by slice by the encoder's pooled features (standardized together),
compared slice against slice, and the scan is slid along the reference. When both headers carry a
slice spacing (NIfTI, DICOM, OME-Zarr, stored volumes) the scale is their ratio and only the offset
is searched; otherwise the scale is searched too (¼× to 4×). Confidence = 1 − best cost / the best
cost of a placement at least 3 scan slices away: near 0 when another placement fits as well.`

export const locate: Command = {
  name: "locate",
  summary: "where a partial scan sits inside a full one (slice offset, scale, confidence), from an encoder",
  usage: USAGE,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      in: { type: "string" },
      encoder: { type: "string" },
      window: { type: "string" },
      ...SOURCE_FLAGS,
      backend: { type: "string" },
      store: { type: "string" },
      json: { type: "boolean" }
    })
    if (positionals.length !== 1) throw new UsageError({ message: "expected one SCAN" })
    if (!values.in) throw new UsageError({ message: "--in REFERENCE is required" })
    if (!values.encoder) throw new UsageError({ message: "--encoder is required (an Encoder artifact directory or PIPELINE.yaml:STAGE)" })
    const window = parseWindow(values.window)
    const options = sourceOptions(values)
    const backend = backendOverride(values.backend, io) ?? "auto"
    const scanPath = resolve(io.cwd, positionals[0])
    const referencePath = resolve(io.cwd, values.in)
    const program = Effect.gen(function* () {
      const { dir } = yield* modelArtifact(values.encoder!, ["Encoder"], io, storeDir(values.store, io))
      const index = yield* readArtifactIndex(dir, "Encoder")
      const model = yield* (yield* Compute).encoderModel(join(dir, index.model), index.inputSize)
      const reference = yield* openSource(referencePath, options)
      const scan = yield* openSource(scanPath, options)
      const range = window ?? (yield* percentileWindow(reference))
      const describe = (name: string, source: typeof scan) =>
        Effect.map(encodeSlices(model, windowedSlices(source, range), 32), (encoding) => {
          const spacing = sliceSpacing(source)
          return { name, encoding, ...(spacing ? { sliceSpacing: spacing } : {}) }
        })
      const found = locateInReference(yield* describe(scanPath, scan), yield* describe(referencePath, reference))
      if (!found)
        return yield* new InputError({
          file: scan.dims[0] < 2 ? scanPath : referencePath,
          problem: `too few slices to place (${scan.dims[0]} in the scan, ${reference.dims[0]} in the reference; each needs at least 2)`
        })
      return {
        ...found,
        encoder: dir,
        method: index.method,
        window: range,
        spacing: { scan: scan.spacing[0], reference: reference.spacing[0] }
      }
    })
    const layer = computeLayer({ backend, threads: 0 })
    return runCommandEffect(Effect.scoped(program).pipe(Effect.provide(Layer.fresh(layer))), io, (r) => {
      if (values.json) io.stdout(JSON.stringify(r) + "\n")
      else
        io.stdout(
          [
            `${r.scan} (${r.scanSlices} slices) sits at reference slices ${+r.offset.toFixed(2)} … ${+r.lastSlice.toFixed(2)} of ${r.referenceSlices}`,
            `  offset ${+r.offset.toFixed(2)}, scale ${+r.scale.toFixed(3)} reference slices per scan slice` +
              (r.scaleFrom === "spacing"
                ? ` (from the headers: ${+r.spacing.scan.toPrecision(4)} / ${+r.spacing.reference.toPrecision(4)} mm)`
                : " (searched: a header has no spacing)"),
            `  confidence ${r.confidence.toFixed(2)}` +
              (r.runnerUp
                ? ` (best cost ${r.cost.toPrecision(3)}; next placement ≥ ${RUNNER_UP_SLICES} slices away: ` +
                  `offset ${r.runnerUp.offset}, cost ${r.runnerUp.cost.toPrecision(3)})`
                : ""),
            `  encoder ${r.encoder} (${r.method})`
          ].join("\n") + "\n"
        )
      return EXIT_OK
    })
  }
}
