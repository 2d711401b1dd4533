import { resolve } from "node:path"
import { formatVolumeInfo, volumeInfo } from "@tomoprior/volume"
import { type Command, EXIT_OK, parseFlags, UsageError } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"

export const volumeInfoCommand: Command = {
  name: "volume-info",
  summary: "dims, voxel type, spacing, axis codes and intensity statistics of a volume file",
  usage: `tomoprior volume-info FILE [--series UID] [--dataset PATH] [--level N] [--json]

FILE: .nii, .nii.gz, .tif/.tiff (multi-page, BigTIFF), an HDF5 file (.h5, .hdf5, .nxs; --dataset,
default /exchange/data), a Zarr / OME-Zarr store (--level), a DICOM series directory (--series when
it holds several), a directory of TIFF slices, or a stored volume directory (volume.json). Prints
the sizes, spacing and axis codes as the file has them, how ingest stores it (RAS+, [z, y, x]), and
min, max, mean and std of the voxel values after rescaling (scl_slope/inter, RescaleSlope/Intercept;
accumulated in float64).`,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      json: { type: "boolean" },
      series: { type: "string" },
      dataset: { type: "string" },
      level: { type: "string" }
    })
    if (positionals.length !== 1) throw new UsageError({ message: "expected one FILE" })
    const level = values.level === undefined ? undefined : Number(values.level)
    if (level !== undefined && !(Number.isInteger(level) && level >= 0))
      throw new UsageError({ message: `--level ${values.level}: expected a whole number ≥ 0` })
    const options = {
      ...(values.series ? { series: values.series } : {}),
      ...(values.dataset ? { dataset: values.dataset } : {}),
      ...(level !== undefined ? { level } : {})
    }
    return runCommandEffect(volumeInfo(resolve(io.cwd, positionals[0]), options), io, (info) => {
      io.stdout(values.json ? JSON.stringify(info) + "\n" : formatVolumeInfo(info) + "\n")
      return EXIT_OK
    })
  }
}
