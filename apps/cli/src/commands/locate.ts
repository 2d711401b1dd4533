import { Effect, Layer } from "effect"
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { computeLayer } from "@tomoprior/compute/layer"
import { Compute, InputError } from "@tomoprior/core"
import { artifactDir, lockPathFor, readArtifactIndex, readLock, storeLayout } from "@tomoprior/runner"
import { embeddingDescriptors, locateScan, sliceDistances } from "@tomoprior/stage-localize"
import { allocate, openSource, sliceLength, type VolumeSource } from "@tomoprior/volume"
import { backendOverride, type Command, EXIT_OK, type Io, parseFlags, storeDir, UsageError } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"

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

/** An Encoder artifact directory from a path, or from PIPELINE.yaml:STAGE through its lock file. */
const encoderDir = (spec: string, io: Io, store: string): Effect.Effect<string, InputError> =>
  Effect.gen(function* () {
    const at = resolve(io.cwd, spec)
    if (existsSync(at)) return at
    const m = /^(.*\.ya?ml):([\w-]+)$/i.exec(spec)
    if (!m) return yield* new InputError({ file: at, problem: "no such Encoder artifact directory (or give PIPELINE.yaml:STAGE)" })
    const pipeline = resolve(io.cwd, m[1])
    const lock = yield* Effect.promise(() => readLock(lockPathFor(pipeline)))
    const outputs = lock?.stages[m[2]]?.outputs
    const hash = outputs?.encoder ?? (outputs && Object.values(outputs).length === 1 ? Object.values(outputs)[0] : undefined)
    if (!hash)
      return yield* new InputError({
        file: lockPathFor(pipeline),
        problem: `no recorded encoder output of stage ${m[2]}; run the pipeline first (tomoprior run ${m[1]})`
      })
    return artifactDir(storeLayout(store), hash)
  })

/** Every slice of a volume, concatenated (float32). */
const voxelsOf = (src: VolumeSource) =>
  Effect.gen(function* () {
    const n = sliceLength(src.dims)
    const slice = allocate(src.dtype, n)
    const all = new Float32Array(n * src.dims[0])
    for (let z = 0; z < src.dims[0]; z++) all.set(yield* src.readSlice(z, slice), z * n)
    return all
  })

/** The 1st and 99.5th percentiles of a strided sample: exact enough for a window, bounded in cost. */
const percentileWindow = (all: Float32Array): readonly [number, number] => {
  const stride = Math.max(1, Math.floor(all.length / 2_000_000))
  const sample = Float32Array.from({ length: Math.floor(all.length / stride) }, (_, i) => all[i * stride]).sort()
  return [sample[Math.floor(0.01 * (sample.length - 1))], sample[Math.floor(0.995 * (sample.length - 1))]]
}

/** Maps values through the window to [0, 1], in place. */
const applyWindow = (all: Float32Array, [lo, hi]: readonly [number, number]): Float32Array => {
  const span = hi > lo ? hi - lo : 1
  for (let i = 0; i < all.length; i++) all[i] = Math.min(1, Math.max(0, (all[i] - lo) / span))
  return all
}

export const locate: Command = {
  name: "locate",
  summary: "where a partial scan sits inside a full one (slice offset, scale, confidence), from an encoder",
  usage: USAGE,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      in: { type: "string" },
      encoder: { type: "string" },
      window: { type: "string" },
      series: { type: "string" },
      dataset: { type: "string" },
      level: { type: "string" },
      backend: { type: "string" },
      store: { type: "string" },
      json: { type: "boolean" }
    })
    if (positionals.length !== 1) throw new UsageError({ message: "expected one SCAN" })
    if (!values.in) throw new UsageError({ message: "--in REFERENCE is required" })
    if (!values.encoder) throw new UsageError({ message: "--encoder is required (an Encoder artifact directory or PIPELINE.yaml:STAGE)" })
    const window = values.window?.split(",").map(Number)
    if (window && (window.length !== 2 || !window.every(Number.isFinite) || window[0] >= window[1]))
      throw new UsageError({ message: `--window ${values.window}: expected LO,HI with LO < HI` })
    const level = values.level === undefined ? undefined : Number(values.level)
    const options = {
      ...(values.series ? { series: values.series } : {}),
      ...(values.dataset ? { dataset: values.dataset } : {}),
      ...(level !== undefined && Number.isInteger(level) ? { level } : {})
    }
    const backend = backendOverride(values.backend, io) ?? "auto"
    const scanPath = resolve(io.cwd, positionals[0])
    const referencePath = resolve(io.cwd, values.in)
    const program = Effect.gen(function* () {
      const dir = yield* encoderDir(values.encoder!, io, storeDir(values.store, io))
      const index = yield* readArtifactIndex(dir, "Encoder")
      const compute = yield* Compute
      const model = yield* compute.encoderModel(join(dir, index.model), index.inputSize)
      const referenceSource = yield* openSource(referencePath, options)
      const referenceVoxels = yield* voxelsOf(referenceSource)
      const range = (window as [number, number] | undefined) ?? percentileWindow(referenceVoxels)
      const describe = (src: VolumeSource, raw: Float32Array) =>
        Effect.gen(function* () {
          const voxels = applyWindow(raw, range)
          const [Z, H, W] = src.dims
          const rows: Array<Float32Array> = []
          for (let start = 0; start < Z; start += 32) {
            const count = Math.min(32, Z - start)
            const encoded = yield* model.encode({
              data: voxels.subarray(start * H * W, (start + count) * H * W),
              count,
              height: H,
              width: W
            })
            rows.push(...(encoded.features ?? encoded.outputs))
          }
          return { src, rows }
        })
      const reference = yield* describe(referenceSource, referenceVoxels)
      const scanSource = yield* openSource(scanPath, options)
      const scan = yield* describe(scanSource, yield* voxelsOf(scanSource))
      const descriptors = embeddingDescriptors([
        ["scan", scan.rows],
        ["reference", reference.rows]
      ])
      const spaced = (s: VolumeSource) => !s.axisCodes.includes("?")
      const scale = spaced(scan.src) && spaced(reference.src) ? scan.src.spacing[0] / reference.src.spacing[0] : undefined
      const found = locateScan(sliceDistances(descriptors.get("scan")!, descriptors.get("reference")!), {
        ...(scale ? { scale } : {}),
        minOverlap: 0.8,
        maxScale: 4,
        margin: 3 * (scale ?? 1)
      })
      if (!found)
        return yield* new InputError({
          file: scanPath,
          problem: "too few slices to place (the scan and the reference need at least 2 each)"
        })
      return {
        scan: scanPath,
        reference: referencePath,
        encoder: dir,
        method: index.method,
        window: range,
        scanSlices: scan.src.dims[0],
        referenceSlices: reference.src.dims[0],
        spacing: { scan: scan.src.spacing[0], reference: reference.src.spacing[0], fromHeaders: scale !== undefined },
        offset: found.offset,
        scale: found.scale,
        lastSlice: found.offset + found.scale * (scan.src.dims[0] - 1),
        cost: found.cost,
        overlap: found.overlap,
        confidence: found.confidence,
        runnerUp: found.runnerUp ? { offset: found.runnerUp.offset, scale: found.runnerUp.scale, cost: found.runnerUp.cost } : null
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
              (r.spacing.fromHeaders
                ? ` (from the headers: ${r.spacing.scan} / ${r.spacing.reference} mm)`
                : " (searched: a header has no spacing)"),
            `  confidence ${r.confidence.toFixed(2)}` +
              (r.runnerUp
                ? ` (best cost ${r.cost.toPrecision(3)}; next placement ≥ 3 slices away: offset ${r.runnerUp.offset}, cost ${r.runnerUp.cost.toPrecision(3)})`
                : ""),
            `  encoder ${r.encoder} (${r.method})`
          ].join("\n") + "\n"
        )
      return EXIT_OK
    })
  }
}
