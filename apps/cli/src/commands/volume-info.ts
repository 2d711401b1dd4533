import { resolve } from "node:path"
import { formatVolumeInfo, volumeInfo } from "@tomoprior/volume"
import { type Command, EXIT_OK, parseFlags, UsageError } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"
import { SOURCE_FLAGS, sourceOptions } from "../sources.ts"

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
      ...SOURCE_FLAGS
    })
    if (positionals.length !== 1) throw new UsageError({ message: "expected one FILE" })
    return runCommandEffect(volumeInfo(resolve(io.cwd, positionals[0]), sourceOptions(values)), io, (info) => {
      io.stdout(values.json ? JSON.stringify(info) + "\n" : formatVolumeInfo(info) + "\n")
      return EXIT_OK
    })
  }
}
