import assert from "node:assert/strict"
import { appendFileSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { InputError } from "@tomoprior/core"
import { tempDir } from "@tomoprior/testkit"
import { storeVolume } from "./copy.ts"
import { openSource, type SourceOptions } from "./open.ts"
import { fixture, failureOf, hasCommand, hasPythonModules, PYTHON, readAll, run, runScoped } from "./testing.ts"

/**
 * Damaged and odd DICOM series, HDF5 files and Zarr stores (written by pydicom, dcmtk, h5py and
 * zarr-python, then broken on purpose): each fails with an InputError naming the file or
 * directory and saying what to do, and storing one leaves no volume behind.
 */
const canDicom = hasPythonModules("pydicom", "numpy") && hasCommand("dcmcjpeg") && hasCommand("gdcmconv")
const canArrays = hasPythonModules("h5py", "hdf5plugin", "zarr", "numcodecs", "numpy")
const dir = tempDir("tomoprior-damaged-formats-")
if (canArrays) run(PYTHON, [fixture("make-arrays.py"), join(dir, "arrays")])

const series = (name: string, spec: Record<string, unknown> = {}): string => {
  const out = join(dir, name)
  run(PYTHON, [fixture("make-dicom.py"), out, JSON.stringify({ reference: false, rows: 8, cols: 7, slices: 5, ...spec })])
  return out
}
const filesOf = (d: string) => readdirSync(d).map((f) => join(d, f))
const transcoded = (name: string, tool: string, args: ReadonlyArray<string>): string => {
  const from = series(`${name}-source`, { rows: 12, cols: 10 })
  const out = join(dir, name)
  mkdirSync(out)
  for (const f of readdirSync(from)) run(tool, [...args, join(from, f), join(out, f)])
  return out
}
const replaceBytes = (file: string, from: string, to: string) => {
  const b = readFileSync(file)
  const at = b.indexOf(from, 0, "latin1")
  assert.ok(at >= 0, `${from} not in ${file}`)
  b.write(to, at, "latin1")
  writeFileSync(file, b)
}
const arrays = (name: string) => join(dir, "arrays", name)

interface Case {
  readonly name: string
  readonly needs: "dicom" | "arrays"
  readonly problem: RegExp
  /** The path to open (and the options), after breaking it. */
  readonly make: () => readonly [string, SourceOptions?]
}

const cases: ReadonlyArray<Case> = [
  {
    name: "missing slice",
    needs: "dicom",
    problem: /1 slice is missing between .* find the missing file/,
    make: () => [series("missing", { skip: [2] })]
  },
  {
    name: "two missing slices",
    needs: "dicom",
    problem: /2 slices are missing/,
    make: () => [series("missing2", { slices: 7, skip: [3, 4] })]
  },
  {
    name: "mixed series",
    needs: "dicom",
    problem: /holds 2 series .*choose one with series: <SeriesInstanceUID>/,
    make: () => {
      const d = series("mixed", { seriesUid: "1.2.3.4.1" })
      series("mixed", { seriesUid: "1.2.3.4.2", seed: 5 })
      return [d]
    }
  },
  {
    name: "unknown series",
    needs: "dicom",
    problem: /no series 9\.9\.9 here; the directory holds 1\.2\.3\.5: 5 files/,
    make: () => [series("one-series", { seriesUid: "1.2.3.5" }), { series: "9.9.9" }]
  },
  {
    name: "unequal spacing",
    needs: "dicom",
    problem: /unequal slice spacing: 3 mm .*resample/,
    make: () => [series("unequal", { steps: [0, 2, 4, 7, 9] })]
  },
  {
    name: "gantry tilt",
    needs: "dicom",
    problem: /sheared by [\d.]+° \(gantry tilt.*dcm2niix/,
    make: () => [series("tilt", { tilt: 0.6 })]
  },
  {
    name: "duplicate positions",
    needs: "dicom",
    problem: /same position .*split them/,
    make: () => [series("dup", { steps: [0, 2, 2, 4, 6] })]
  },
  {
    name: "truncated pixel data",
    needs: "dicom",
    problem: /truncated|cut short/,
    make: () => {
      const d = series("truncated")
      const f = filesOf(d)[2]
      truncateSync(f, readFileSync(f).length - 30)
      return [d]
    }
  },
  {
    name: "unsupported transfer syntax (JPEG Extended)",
    needs: "dicom",
    problem: /transfer syntax 1\.2\.840\.10008\.1\.2\.4\.51 \(JPEG Extended.*\) is not supported; re-encode/,
    make: () => [transcoded("jpeg-extended", "dcmcjpeg", ["+ee"])]
  },
  {
    name: "unknown transfer syntax",
    needs: "dicom",
    problem: /transfer syntax 1\.2\.840\.10008\.1\.2\.9 is not supported/,
    make: () => {
      const d = series("unknown-ts")
      replaceBytes(filesOf(d)[0], "1.2.840.10008.1.2.1\0", "1.2.840.10008.1.2.9\0")
      return [d]
    }
  },
  {
    name: "a localizer in the series",
    needs: "dicom",
    problem: /has ImageOrientationPatient 1\\0\\0\\0\\0\\-1, unlike .*localizer/,
    make: () => [series("localizer", { override: { "3": { ImageOrientationPatient: [1, 0, 0, 0, 0, -1] } } })]
  },
  {
    name: "one slice of another size",
    needs: "dicom",
    problem: /is 7×9 pixels but .* is 7×8/,
    make: () => [series("size", { override: { "1": { Rows: 9 } } })]
  },
  {
    name: "other pixel format in one slice",
    needs: "dicom",
    problem: /stores 12\/16-bit signed pixels, unlike/,
    make: () => [series("bits", { override: { "2": { BitsStored: 12 } } })]
  },
  {
    name: "other pixel spacing in one slice",
    needs: "dicom",
    problem: /has PixelSpacing 0\.5\\0\.5, unlike/,
    make: () => [series("pixel-spacing", { override: { "0": { PixelSpacing: [0.5, 0.5] } } })]
  },
  {
    name: "no ImagePositionPatient",
    needs: "dicom",
    problem: /missing or malformed ImagePositionPatient.*keep only the image series/,
    make: () => [series("no-position", { override: { "1": { ImagePositionPatient: null } } })]
  },
  {
    name: "skewed orientation vectors",
    needs: "dicom",
    problem: /is not two orthogonal unit vectors/,
    make: () => [series("skewed", { orientation: [1, 0, 0, 0.6, 0.8, 0] })]
  },
  {
    name: "multi-frame",
    needs: "dicom",
    problem: /multi-frame image \(4 frames\).*split it/,
    make: () => [series("multiframe", { override: Object.fromEntries([0, 1, 2, 3, 4].map((k) => [k, { NumberOfFrames: 4 }])) })]
  },
  {
    name: "colour images",
    needs: "dicom",
    problem: /RGB with 3 samples per pixel; only grey/,
    make: () =>
      [
        series("rgb", {
          override: Object.fromEntries([0, 1, 2, 3, 4].map((k) => [k, { PhotometricInterpretation: "RGB", SamplesPerPixel: 3 }]))
        })
      ] as const
  },
  {
    name: "no DICOM files",
    needs: "dicom",
    problem: /no DICOM images among 2 files/,
    make: () => {
      const d = join(dir, "not-dicom")
      mkdirSync(d)
      writeFileSync(join(d, "notes.txt"), "hello")
      writeFileSync(join(d, "IM0001"), Buffer.alloc(300))
      return [d]
    }
  },
  {
    name: "corrupt JPEG 2000 codestream",
    needs: "dicom",
    problem: /cannot (decode JPEG 2000|parse)/,
    make: () => {
      const d = transcoded("j2k-corrupt", "gdcmconv", ["--j2k"])
      const f = filesOf(d)[1]
      const b = readFileSync(f)
      // keep the DICOM structure, zero the codestream's body (after its main header)
      const soc = b.indexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]))
      b.fill(0, soc + 60, b.length - 12)
      writeFileSync(f, b)
      return [d]
    }
  },
  {
    name: "trailing garbage after a truncated element",
    needs: "dicom",
    problem: /cannot parse|truncated/,
    make: () => {
      const d = series("garbage")
      const f = filesOf(d)[0]
      truncateSync(f, 400)
      appendFileSync(f, Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0, 0, 0xff, 0xff, 0, 0]))
      return [d]
    }
  },
  {
    name: "HDF5 rank-2 dataset",
    needs: "arrays",
    problem: /rank 2 .*single image/,
    make: () => [arrays("scan.h5"), { dataset: "/image2d" }]
  },
  {
    name: "HDF5 dataset that does not exist",
    needs: "arrays",
    problem: /no dataset \/nope; set dataset: to one of .*\/exchange\/data 9×12×10/,
    make: () => [arrays("scan.h5"), { dataset: "/nope" }]
  },
  {
    name: "HDF5 group given as dataset",
    needs: "arrays",
    problem: /\/exchange is a group, not a dataset/,
    make: () => [arrays("scan.h5"), { dataset: "/exchange" }]
  },
  {
    name: "HDF5 64-bit integers",
    needs: "arrays",
    problem: /64-bit integer values; supported are/,
    make: () => [arrays("scan.h5"), { dataset: "/uint64" }]
  },
  { name: "HDF5 strings", needs: "arrays", problem: /string values/, make: () => [arrays("scan.h5"), { dataset: "/text" }] },
  {
    name: "truncated HDF5 file",
    needs: "arrays",
    problem: /truncated: the HDF5 superblock says the file ends at byte \d+, but it has 3000 bytes/,
    make: () => {
      const f = join(dir, "truncated.h5")
      writeFileSync(f, readFileSync(arrays("scan.h5")).subarray(0, 3000))
      return [f]
    }
  },
  {
    name: "not an HDF5 file",
    needs: "arrays",
    problem: /cannot open as HDF5/,
    make: () => [(writeFileSync(join(dir, "fake.h5"), "hello"), join(dir, "fake.h5"))] as const
  },
  { name: "Zarr rank-2 array", needs: "arrays", problem: /rank 2 .*needs 3 axes/, make: () => [arrays("rank2.zarr")] },
  {
    name: "Zarr with 3 channels",
    needs: "arrays",
    problem: /shape is 3×4×5×6; axes before the last three .* size 1/,
    make: () => [arrays("channels.zarr")]
  },
  { name: "Zarr int64", needs: "arrays", problem: /data type int64 is not supported/, make: () => [arrays("int64.zarr")] },
  {
    name: "Zarr group without multiscales",
    needs: "arrays",
    problem: /without OME multiscales metadata; point source: at the array/,
    make: () => [arrays("plain-group.zarr")]
  },
  {
    name: "OME-Zarr level out of range",
    needs: "arrays",
    problem: /level 5 does not exist; this image has levels 0\.\.1/,
    make: () => [arrays("image.ome.zarr"), { level: 5 }]
  },
  {
    name: "level of a plain Zarr array",
    needs: "arrays",
    problem: /single Zarr array, not a multiscale image/,
    make: () => [arrays("blosc.zarr"), { level: 1 }]
  },
  {
    name: "corrupt Zarr chunk",
    needs: "arrays",
    problem: /cannot read slices 4\.\.7: chunk \/1\.0\.0 holds \d+ bytes but its Blosc header says \d+/,
    make: () => {
      const chunk = readFileSync(arrays("blosc.zarr/1.0.0"))
      writeFileSync(arrays("blosc.zarr/1.0.0"), chunk.subarray(0, chunk.length >> 1))
      return [arrays("blosc.zarr")]
    }
  },
  {
    name: "unreadable Zarr metadata",
    needs: "arrays",
    problem: /not a readable Zarr store/,
    make: () => {
      writeFileSync(arrays("fortran.zarr/.zarray"), "{ not json")
      return [arrays("fortran.zarr")]
    }
  }
]

for (const needs of ["dicom", "arrays"] as const) {
  const mine = cases.filter((c) => c.needs === needs)
  const available = needs === "dicom" ? canDicom : canArrays
  const what = needs === "dicom" ? "DICOM series" : "HDF5 files and Zarr stores"
  test(
    `${mine.length} damaged or odd ${what} fail with an InputError naming the input and what to do`,
    { skip: !available && "writers not installed", timeout: 120_000 },
    async () => {
      for (const c of mine) {
        const [path, options] = c.make()
        const error = await failureOf(Effect.flatMap(openSource(path, options), readAll)).catch((e) => assert.fail(`${c.name}: ${e}`))
        assert.ok(error instanceof InputError, `${c.name}: expected InputError, got ${String(error)}`)
        assert.ok(error.file === path || error.file.startsWith(path + "/"), `${c.name}: error names ${error.file}, not within ${path}`)
        assert.match(error.problem, c.problem, `${c.name}: ${error.problem}`)
      }
    }
  )
}

test("the cases number at least 30", () => assert.ok(cases.length >= 30, `${cases.length}`))

test(
  "a series with a truncated slice stores nothing: no volume.json, the store's mark of a complete volume",
  { skip: !canDicom && "pydicom not installed" },
  async () => {
    const d = series("truncated-store", { slices: 6 })
    const f = filesOf(d)
    // the error surfaces while slices are copied, after the first ones were written
    const sorted = await runScoped(Effect.map(openSource(d), (s) => s.dims[0]))
    assert.equal(sorted, 6)
    truncateSync(f[f.length - 1], readFileSync(f[f.length - 1]).length - 10)
    const out = join(dir, "stored")
    const error = await failureOf(Effect.flatMap(openSource(d), (s) => storeVolume(out, s, undefined, { source: d })))
    assert.ok(error instanceof InputError)
    assert.ok(!readdirSync(out).includes("volume.json"))
  }
)

test(
  "odd but valid: a directory with two series reads the one named by series:",
  { skip: !canDicom && "pydicom not installed" },
  async () => {
    const d = series("two", { seriesUid: "1.2.3.6.1", slices: 4 })
    series("two", { seriesUid: "1.2.3.6.2", slices: 6, seed: 9 })
    for (const [uid, slices] of [
      ["1.2.3.6.1", 4],
      ["1.2.3.6.2", 6]
    ] as const)
      assert.equal(await runScoped(Effect.map(openSource(d, { series: uid }), (s) => s.dims[0])), slices)
  }
)
