import assert from "node:assert/strict"
import { mkdirSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { tempDir } from "@tomoprior/testkit"
import { readDicomSeries } from "./dicom.ts"
import { fixture, hasCommand, hasPythonModules, PYTHON, readAll, readF64, run, runScoped } from "./testing.ts"

/**
 * Series written by pydicom and transcoded by dcmtk and GDCM (independent encoders), compared
 * voxel for voxel with the writer's array as nibabel orders it in RAS+.
 */
const canWrite = hasPythonModules("pydicom", "nibabel", "numpy")
const skipUnless = (ok: boolean, what: string) => (ok ? false : `${what} not installed`)
const dir = tempDir("tomoprior-dicom-")

interface Reference {
  readonly dims: [number, number, number]
  readonly zooms: [number, number, number]
  readonly affine: Array<Array<number>>
}

/** Writes a series with pydicom; returns its directory. */
const series = (name: string, spec: Record<string, unknown>): string => {
  const out = join(dir, name)
  run(PYTHON, [fixture("make-dicom.py"), out, JSON.stringify(spec)])
  return out
}

/** Each file of `from` converted by `tool args… in out` into a new directory. */
const transcode = (from: string, name: string, tool: string, args: ReadonlyArray<string>): string => {
  const out = join(dir, name)
  mkdirSync(out, { recursive: true })
  for (const f of readdirSync(from)) run(tool, [...args, join(from, f), join(out, f)])
  return out
}

const syntaxOf = (file: string): string => {
  const r = readFileSync(file)
  // (0002,0010) UI: the transfer syntax in the explicit-VR meta header
  const at = r.indexOf(Buffer.from([0x02, 0x00, 0x10, 0x00]), 132)
  return r
    .toString("latin1", at + 8, at + 8 + r.readUInt16LE(at + 6))
    .replace(/\0/g, "")
    .trim()
}

const expectMatches = async (seriesDir: string, referenceName: string, tolerance = 0) => {
  const ref = JSON.parse(readFileSync(join(dir, `${referenceName}.json`), "utf8")) as Reference
  const expected = readF64(join(dir, `${referenceName}.f64`))
  const { source, values } = await runScoped(
    Effect.gen(function* () {
      const source = yield* readDicomSeries(seriesDir)
      return { source, values: yield* readAll(source) }
    })
  )
  assert.deepEqual([...source.dims], [...ref.dims].reverse())
  for (let a = 0; a < 3; a++) assert.ok(Math.abs(source.spacing[a] - ref.zooms[2 - a]) < 1e-5, `spacing ${source.spacing} vs ${ref.zooms}`)
  for (let r = 0; r < 4; r++)
    for (let c = 0; c < 4; c++)
      assert.ok(Math.abs(source.affine[r][c] - ref.affine[r][c]) < 1e-4, `affine[${r}][${c}] ${source.affine[r][c]} vs ${ref.affine[r][c]}`)
  assert.deepEqual([...source.axisCodes], ["R", "A", "S"])
  assert.equal(values.length, expected.length)
  let worst = 0
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i] - expected[i]))
  assert.ok(worst <= tolerance, `largest difference ${worst} > ${tolerance}`)
}

const DCMTK = hasCommand("dcmcjpls") && hasCommand("dcmcrle") && hasCommand("dcmcjpeg") && hasCommand("dcmconv")
const GDCM = hasCommand("gdcmconv")

test(
  "an int16 series with a fractional rescale, in eight transfer syntaxes from pydicom, dcmtk and GDCM",
  { skip: skipUnless(canWrite && DCMTK && GDCM, "pydicom/nibabel, dcmtk or gdcmconv") },
  async () => {
    const plain = series("ct", { dtype: "int16", slope: 0.5, intercept: -100, rows: 14, cols: 11, slices: 7 })
    const variants: Array<[string, string, string, ReadonlyArray<string>]> = [
      ["jpeg-ls", "1.2.840.10008.1.2.4.80", "dcmcjpls", []],
      ["rle", "1.2.840.10008.1.2.5", "dcmcrle", []],
      ["jpeg-lossless", "1.2.840.10008.1.2.4.70", "dcmcjpeg", []],
      ["jpeg2000", "1.2.840.10008.1.2.4.90", "gdcmconv", ["--j2k"]],
      ["implicit", "1.2.840.10008.1.2", "dcmconv", ["+ti"]],
      ["big-endian", "1.2.840.10008.1.2.2", "dcmconv", ["+tb"]],
      ["deflated", "1.2.840.10008.1.2.1.99", "dcmconv", ["+td"]]
    ]
    await expectMatches(plain, "ct")
    for (const [name, uid, tool, args] of variants) {
      const out = transcode(plain, `ct-${name}`, tool, args)
      assert.equal(syntaxOf(join(out, readdirSync(out)[0])), uid, name)
      await expectMatches(out, "ct")
    }
  }
)

test(
  "12-bit unsigned CT with intercept −1024 is stored as exact int16; JPEG 2000 and RLE agree with it",
  { skip: skipUnless(canWrite && DCMTK && GDCM, "pydicom/nibabel, dcmtk or gdcmconv") },
  async () => {
    const plain = series("ct12", { dtype: "uint16", bitsStored: 12, min: 0, max: 4095, slope: 1, intercept: -1024, slices: 5 })
    const src = await runScoped(readDicomSeries(plain))
    assert.equal(src.dtype, "int16")
    await expectMatches(plain, "ct12")
    await expectMatches(transcode(plain, "ct12-j2k", "gdcmconv", ["--j2k"]), "ct12")
    await expectMatches(transcode(plain, "ct12-rle", "dcmcrle", []), "ct12")
  }
)

test(
  "orientations: feet-first flipped axes, sagittal and coronal series are reoriented to RAS+ as nibabel does",
  { skip: skipUnless(canWrite && GDCM, "pydicom/nibabel or gdcmconv") },
  async () => {
    const cases: Record<string, Record<string, unknown>> = {
      flipped: { orientation: [-1, 0, 0, 0, -1, 0], sliceStep: -3 },
      sagittal: { orientation: [0, 1, 0, 0, 0, -1], pixelSpacing: [0.9, 0.6] },
      coronal: { orientation: [1, 0, 0, 0, 0, -1], sliceStep: 1.25 },
      oblique: { orientation: [0.98480775, 0.17364818, 0, 0, 0, -1] }
    }
    for (const [name, spec] of Object.entries(cases)) {
      const plain = series(name, { ...spec, slices: 6, rows: 9, cols: 8 })
      await expectMatches(plain, name)
      await expectMatches(transcode(plain, `${name}-j2k`, "gdcmconv", ["--j2k"]), name)
    }
  }
)

test(
  "8-bit JPEG baseline (lossy) decodes as dcmtk's own decoder does, within one grey level",
  { skip: skipUnless(canWrite && DCMTK, "pydicom/nibabel or dcmtk") },
  async () => {
    const plain = series("mr8", { dtype: "uint8", min: 0, max: 255, slope: 1, intercept: 0, slices: 4, rows: 16, cols: 16 })
    const lossy = transcode(plain, "mr8-baseline", "dcmcjpeg", ["+eb"])
    assert.equal(syntaxOf(join(lossy, readdirSync(lossy)[0])), "1.2.840.10008.1.2.4.50")
    const decodedByDcmtk = transcode(lossy, "mr8-dcmdjpeg", "dcmdjpeg", [])
    const read = (d: string) =>
      runScoped(
        Effect.gen(function* () {
          return yield* readAll(yield* readDicomSeries(d))
        })
      )
    const [ours, theirs] = [await read(lossy), await read(decodedByDcmtk)]
    let worst = 0
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]))
    assert.ok(worst <= 1, `largest difference from dcmdjpeg ${worst}`)
  }
)
