import { Effect } from "effect"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { InputError } from "@tomoprior/core"
import { allocate } from "./dtype.ts"
import { writeNifti } from "./nifti.ts"
import { phantomVolume, phantomVolumeSeed, type PhantomOptions } from "./phantom.ts"
import { sliceLength, type VolumeSource } from "./source.ts"
import { writeTiff } from "./tiff.ts"

export interface PhantomFilesOptions extends PhantomOptions {
  readonly volumes: number
  readonly seed: number
  readonly format: "nifti" | "tiff"
}

/**
 * Writes the same phantom set `ingest` generates for (seed, volumes, size, slices) as files:
 * `torso-000.nii.gz` + `torso-000_seg.nii.gz` (or `.tif`), so `labels: "{name}_seg.nii.gz"` pairs them.
 */
export const writePhantomFiles = (outDir: string, o: PhantomFilesOptions): Effect.Effect<ReadonlyArray<string>, InputError> =>
  Effect.gen(function* () {
    yield* Effect.try({
      try: () => mkdirSync(outDir, { recursive: true }),
      catch: (e) => new InputError({ file: outDir, problem: `cannot create: ${String(e)}` })
    })
    const ext = o.format === "nifti" ? ".nii.gz" : ".tif"
    const written: Array<string> = []
    for (let i = 0; i < o.volumes; i++) {
      const p = phantomVolume(phantomVolumeSeed(o.seed, i), o)
      const name = `torso-${String(i).padStart(3, "0")}`
      for (const [source, file] of [
        [p.image, join(outDir, name + ext)],
        [p.labels, join(outDir, `${name}_seg${ext}`)]
      ] as const) {
        const slice = allocate(source.dtype, sliceLength(source.dims))
        const produce = (z: number) => (source as VolumeSource).readSlice(z, slice)
        if (o.format === "nifti")
          yield* writeNifti(file, { dims: source.dims, dtype: source.dtype, affine: source.affine, spacing: source.spacing }, produce)
        else yield* writeTiff(file, { dims: source.dims, dtype: source.dtype, compression: "deflate" }, produce)
        written.push(file)
      }
    }
    return written
  })
