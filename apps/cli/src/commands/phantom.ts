import { resolve } from "node:path"
import { writePhantomFiles } from "@tomoprior/volume"
import { type Command, EXIT_OK, parseFlags, UsageError } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"

const positiveInt = (flag: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new UsageError({ message: `--${flag} must be a positive integer, got '${value}'` })
  return n
}

export const phantom: Command = {
  name: "phantom",
  summary: "write phantom torso CT volumes with label maps as NIfTI or TIFF files",
  usage: `tomoprior phantom --out DIR [--volumes N] [--size S] [--slices Z] [--seed K] [--format nifti|tiff]

Writes N procedural torso CTs (int16 HU, S×S×Z, RAS+) and their label maps (uint8: 0 background,
1 lungs, 2 heart, 3 liver, 4 spine, 5 lesions) as torso-000.nii.gz + torso-000_seg.nii.gz (or .tif).
They are the volumes the ingest source phantom:torso generates for the same seed and sizes.
Defaults: --volumes 12 --size 96 --slices 64 --seed 0 --format nifti.`,
  run: async (argv, io) => {
    const { values } = parseFlags(argv, {
      out: { type: "string" },
      volumes: { type: "string" },
      size: { type: "string" },
      slices: { type: "string" },
      seed: { type: "string" },
      format: { type: "string" }
    })
    if (!values.out) throw new UsageError({ message: "--out DIR is required" })
    const format = values.format ?? "nifti"
    if (format !== "nifti" && format !== "tiff") throw new UsageError({ message: `--format must be nifti or tiff, got '${format}'` })
    const seed = Number(values.seed ?? "0")
    if (!Number.isInteger(seed)) throw new UsageError({ message: `--seed must be an integer, got '${values.seed}'` })
    const options = {
      volumes: positiveInt("volumes", values.volumes, 12),
      size: positiveInt("size", values.size, 96),
      slices: positiveInt("slices", values.slices, 64),
      seed,
      format: format as "nifti" | "tiff"
    }
    const started = Date.now()
    return runCommandEffect(writePhantomFiles(resolve(io.cwd, values.out), options), io, (files) => {
      io.stdout(
        `wrote ${files.length} files (${options.volumes} volumes of ${options.size}×${options.size}×${options.slices}) ` +
          `to ${values.out} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`
      )
      return EXIT_OK
    })
  }
}
