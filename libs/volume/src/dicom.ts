import { Effect, Scope } from "effect"
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs"
import { join } from "node:path"
import { inflateRawSync } from "node:zlib"
import dicomParser from "dicom-parser"
import { InputError } from "@tomoprior/core"
import { decodeFrame, TRANSFER_SYNTAXES, type TransferSyntax, UNSUPPORTED_SYNTAXES } from "./dicom-codecs.ts"
import { allocate, bytesPerVoxel, type Dtype, dtypeForRange, RAW_SAMPLES, type RawSample, type VoxelArray } from "./dtype.ts"
import { axisCodesOf, canonicalPlan, gatherPlane, type Vec3 } from "./orientation.ts"
import type { VolumeSource } from "./source.ts"

/**
 * A DICOM series (one file per slice) as a canonical RAS+ volume. Slices are ordered by their
 * ImagePositionPatient along the slice normal (the cross product of ImageOrientationPatient's row
 * and column directions), never by file name or InstanceNumber; the slice spacing comes from the
 * positions, not SliceThickness. The stack must be regular — one orientation, no gaps, equal
 * spacing, no shear (gantry tilt) — since the stored volume is a grid with one affine.
 */

export interface DicomOptions {
  /** SeriesInstanceUID to read when the directory holds several series. */
  readonly series?: string
}

interface SliceHeader {
  readonly file: string
  readonly series: string
  readonly description: string
  readonly syntax: TransferSyntax
  readonly rows: number
  readonly columns: number
  readonly bitsAllocated: number
  readonly bitsStored: number
  readonly signed: boolean
  readonly samples: number
  readonly frames: number
  readonly photometric: string
  readonly orientation: ReadonlyArray<number>
  readonly position: Vec3
  readonly pixelSpacing: readonly [number, number]
  readonly slope: number
  readonly intercept: number
}

const PIXEL_DATA = "x7fe00010"
const HEADER_PREFIX = 256 * 1024
/** Positions and gaps agree when within this share of the median gap (plus DS rounding). */
const SPACING_TOLERANCE = 0.01
const ABSOLUTE_TOLERANCE_MM = 0.005
/** A non-axial series is decoded once into memory (slices of it cut across every file). */
const MAX_IN_MEMORY_BYTES = 2 ** 31

/** dicom-parser throws plain objects ({ exception }) as well as Errors. */
const describe = (e: unknown) =>
  e instanceof Error
    ? e.message
    : typeof e === "object" && e !== null && "exception" in e
      ? String((e as { exception: unknown }).exception)
      : String(e)
const fail = (file: string, problem: string) => new InputError({ file, problem })

const hasDicmPrefix = (b: Uint8Array) => b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d

const inflater = (bytes: Uint8Array, position: number): Uint8Array => {
  const inflated = inflateRawSync(bytes.subarray(position))
  const whole = new Uint8Array(position + inflated.length)
  whole.set(bytes.subarray(0, position))
  whole.set(inflated, position)
  return whole
}

const parse = (bytes: Uint8Array, untilPixels: boolean): dicomParser.DataSet =>
  dicomParser.parseDicom(bytes, untilPixels ? { untilTag: PIXEL_DATA, inflater } : { inflater })

const readPrefix = (file: string, size: number): Uint8Array => {
  const fd = openSync(file, "r")
  try {
    const b = Buffer.alloc(Math.min(size, HEADER_PREFIX))
    const got = readSync(fd, b, 0, b.length, 0)
    return b.subarray(0, got)
  } finally {
    closeSync(fd)
  }
}

const numbers = (ds: dicomParser.DataSet, tag: string): Array<number> => {
  const text = ds.string(tag)
  return text ? text.split("\\").map((s) => Number(s.trim())) : []
}

/** The header of one file, or undefined when it is no DICOM image (no DICM prefix, a DICOMDIR, no pixel data). */
const readSliceHeader = (file: string): SliceHeader | undefined => {
  const size = statSync(file).size
  const prefix = readPrefix(file, size)
  if (!hasDicmPrefix(prefix)) return undefined
  let ds: dicomParser.DataSet
  try {
    ds = parse(prefix, true)
  } catch (e) {
    if (prefix.length === size) throw fail(file, `cannot parse the DICOM header: ${describe(e)} (truncated or corrupt file?)`)
    ds = parse(readFileSync(file), true)
  }
  if (!ds.elements[PIXEL_DATA]) return undefined
  const uid = (ds.string("x00020010") ?? "").replace(/\0/g, "").trim()
  const syntax = TRANSFER_SYNTAXES.get(uid)
  if (!syntax) {
    const known = UNSUPPORTED_SYNTAXES[uid]
    throw fail(
      file,
      `transfer syntax ${uid || "(missing)"}${known ? ` (${known})` : ""} is not supported; ` +
        `re-encode the series, e.g. with dcmtk: dcmdjpeg/dcmdrle or gdcmconv --raw, to Explicit VR Little Endian`
    )
  }
  const orientation = numbers(ds, "x00200037")
  const position = numbers(ds, "x00200032")
  const spacing = numbers(ds, "x00280030")
  const missing = [
    ["ImageOrientationPatient", orientation.length === 6],
    ["ImagePositionPatient", position.length === 3],
    ["PixelSpacing", spacing.length === 2]
  ].filter(([, ok]) => !ok)
  if (missing.length > 0)
    throw fail(
      file,
      `missing or malformed ${missing.map(([n]) => n).join(", ")}: the slice cannot be placed in space ` +
        `(a secondary capture or scout?); keep only the image series in the directory`
    )
  if ([...orientation, ...position, ...spacing].some((v) => !Number.isFinite(v)) || spacing.some((v) => v <= 0))
    throw fail(file, "ImageOrientationPatient, ImagePositionPatient or PixelSpacing holds a non-numeric or non-positive value")
  const slope = ds.floatString("x00281053") ?? 1
  const intercept = ds.floatString("x00281052") ?? 0
  return {
    file,
    series: (ds.string("x0020000e") ?? "").trim(),
    description: (ds.string("x0008103e") ?? "").trim(),
    syntax,
    rows: ds.uint16("x00280010") ?? 0,
    columns: ds.uint16("x00280011") ?? 0,
    bitsAllocated: ds.uint16("x00280100") ?? 0,
    bitsStored: ds.uint16("x00280101") ?? ds.uint16("x00280100") ?? 0,
    signed: ds.uint16("x00280103") === 1,
    samples: ds.uint16("x00280002") ?? 1,
    frames: Number(ds.intString("x00280008") ?? 1) || 1,
    photometric: (ds.string("x00280004") ?? "MONOCHROME2").trim(),
    orientation,
    position: [position[0], position[1], position[2]],
    pixelSpacing: [spacing[0], spacing[1]],
    slope: Number.isFinite(slope) && slope !== 0 ? slope : 1,
    intercept: Number.isFinite(intercept) ? intercept : 0
  }
}

const listFiles = (dir: string): Array<string> => {
  const out: Array<string> = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out.push(p)
    }
  }
  walk(dir)
  return out.sort()
}

/** Every file a DICOM directory source may read (for cache keys): all regular, non-hidden files below it. */
export const dicomFiles = listFiles

const cross = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0]
]
const dot = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
const norm = (a: ReadonlyArray<number>) => Math.hypot(a[0], a[1], a[2])
const median = (values: ReadonlyArray<number>) => {
  const s = [...values].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const mm = (v: number) => `${+v.toFixed(3)} mm`

/** Picks the series and checks every slice against the first: one grid, one pixel format. */
const selectSeries = (dir: string, headers: ReadonlyArray<SliceHeader>, options: DicomOptions): ReadonlyArray<SliceHeader> => {
  const bySeries = new Map<string, Array<SliceHeader>>()
  for (const h of headers) bySeries.set(h.series, [...(bySeries.get(h.series) ?? []), h])
  const list = () =>
    [...bySeries.entries()].map(
      ([uid, s]) => `${uid || "(no SeriesInstanceUID)"}: ${s.length} files${s[0].description ? `, "${s[0].description}"` : ""}`
    )
  if (options.series !== undefined) {
    const chosen = bySeries.get(options.series)
    if (!chosen) throw fail(dir, `no series ${options.series} here; the directory holds ${list().join("; ")}`)
    return chosen
  }
  if (bySeries.size > 1)
    throw fail(dir, `holds ${bySeries.size} series (${list().join("; ")}); choose one with series: <SeriesInstanceUID>`)
  return headers
}

/** The grid and pixel format of a slice, for finding the odd one out. */
const formatKey = (s: SliceHeader) =>
  JSON.stringify([s.rows, s.columns, s.bitsAllocated, s.bitsStored, s.signed, s.orientation.map((v) => v.toFixed(4)), s.pixelSpacing])

/** Checks every slice against the most common kind, so the error names the odd slice, not the first. */
const checkUniform = (slices: ReadonlyArray<SliceHeader>): void => {
  const counts = new Map<string, number>()
  for (const s of slices) counts.set(formatKey(s), (counts.get(formatKey(s)) ?? 0) + 1)
  const common = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0]
  const first = slices.find((s) => formatKey(s) === common)!
  for (const s of slices) {
    const what =
      s.rows !== first.rows || s.columns !== first.columns
        ? `is ${s.columns}×${s.rows} pixels but ${first.file} is ${first.columns}×${first.rows}`
        : s.bitsAllocated !== first.bitsAllocated || s.signed !== first.signed || s.bitsStored !== first.bitsStored
          ? `stores ${s.bitsStored}/${s.bitsAllocated}-bit ${s.signed ? "signed" : "unsigned"} pixels, unlike ${first.file}`
          : s.orientation.some((v, i) => Math.abs(v - first.orientation[i]) > 1e-4)
            ? `has ImageOrientationPatient ${s.orientation.join("\\")}, unlike ${first.file} (${first.orientation.join("\\")}); ` +
              "a series must keep one orientation (a localizer mixed in? remove it)"
            : s.pixelSpacing.some((v, i) => Math.abs(v - first.pixelSpacing[i]) > 1e-4 * v)
              ? `has PixelSpacing ${s.pixelSpacing.join("\\")}, unlike ${first.file} (${first.pixelSpacing.join("\\")})`
              : undefined
    if (what) throw fail(s.file, what)
  }
  if (first.samples !== 1 || !first.photometric.startsWith("MONOCHROME"))
    throw fail(first.file, `${first.photometric} with ${first.samples} samples per pixel; only grey (MONOCHROME1/2) images are supported`)
  if (first.frames !== 1)
    throw fail(
      first.file,
      `is a multi-frame image (${first.frames} frames); only one slice per file is supported — split it, e.g. with dcmtk's dcmsplit or gdcmtar`
    )
  if (![8, 16, 32].includes(first.bitsAllocated) || first.bitsStored < 1 || first.bitsStored > first.bitsAllocated)
    throw fail(first.file, `BitsAllocated ${first.bitsAllocated} / BitsStored ${first.bitsStored} is not a supported pixel format`)
  if (first.rows < 1 || first.columns < 1) throw fail(first.file, `image size ${first.columns}×${first.rows} is empty`)
}

interface Geometry {
  readonly order: ReadonlyArray<SliceHeader>
  /** Voxel (column i, row j, slice k) → RAS mm. */
  readonly affine: Array<Array<number>>
  readonly sliceSpacing: number
}

/** Orders slices along the normal and checks the stack is a regular grid. */
const geometry = (dir: string, slices: ReadonlyArray<SliceHeader>): Geometry => {
  const first = slices[0]
  const row = first.orientation.slice(0, 3)
  const col = first.orientation.slice(3, 6)
  if (Math.abs(norm(row) - 1) > 1e-3 || Math.abs(norm(col) - 1) > 1e-3 || Math.abs(dot(row, col)) > 1e-3)
    throw fail(first.file, `ImageOrientationPatient ${first.orientation.join("\\")} is not two orthogonal unit vectors`)
  const normal = cross(row, col)
  const order = [...slices].map((s) => ({ s, d: dot(s.position, normal) })).sort((a, b) => a.d - b.d)
  const gaps = order.slice(1).map((o, i) => o.d - order[i].d)
  const [colSpacing, rowSpacing] = [first.pixelSpacing[1], first.pixelSpacing[0]]
  let step: Vec3 = [normal[0], normal[1], normal[2]]
  let sliceSpacing = 1
  if (order.length > 1) {
    const m = median(gaps)
    const tol = SPACING_TOLERANCE * m + ABSOLUTE_TOLERANCE_MM
    const dup = gaps.findIndex((g) => g <= tol)
    if (dup >= 0)
      throw fail(
        order[dup + 1].s.file,
        `lies at the same position along the slice normal as ${order[dup].s.file} (${mm(order[dup].d)}): ` +
          "several acquisitions or phases share this series; split them (e.g. by AcquisitionNumber or TemporalPositionIdentifier) into directories"
      )
    for (const [i, g] of gaps.entries()) {
      if (Math.abs(g - m) <= tol) continue
      const missing = Math.round(g / m) - 1
      const between = `between ${order[i].s.file} (${mm(order[i].d)}) and ${order[i + 1].s.file} (${mm(order[i + 1].d)})`
      throw fail(
        dir,
        missing >= 1 && Math.abs(g - (missing + 1) * m) <= tol * (missing + 1)
          ? `${missing} slice${missing > 1 ? "s are" : " is"} missing ${between}: the gap is ${mm(g)} where slices are ${mm(m)} apart; ` +
              "find the missing file(s) or re-export the series"
          : `unequal slice spacing: ${mm(g)} ${between}, ${mm(m)} elsewhere; ` +
              "the stored volume needs equal spacing — resample the series (or split it where the spacing changes)"
      )
    }
    const span = order[order.length - 1].s.position.map((v, i) => v - order[0].s.position[i])
    const along = dot(span, normal)
    const across = norm(span.map((v, i) => v - along * normal[i]))
    if (across > tol * (order.length - 1)) {
      const degrees = (Math.atan2(across, along) * 180) / Math.PI
      throw fail(
        dir,
        `the slices are sheared by ${degrees.toFixed(2)}° (gantry tilt: each slice is shifted in-plane by ${mm(across / (order.length - 1))}); ` +
          "resample to an orthogonal grid first, e.g. with dcm2niix (which corrects gantry tilt) and ingest its NIfTI"
      )
    }
    sliceSpacing = along / (order.length - 1)
    step = span.map((v) => v / (order.length - 1)) as unknown as Vec3
  }
  const p0 = order[0].s.position
  // DICOM patient space is LPS; negate x and y for RAS
  const lps = [
    [row[0] * colSpacing, col[0] * rowSpacing, step[0], p0[0]],
    [row[1] * colSpacing, col[1] * rowSpacing, step[1], p0[1]],
    [row[2] * colSpacing, col[2] * rowSpacing, step[2], p0[2]]
  ]
  const affine = [lps[0].map((v) => -v), lps[1].map((v) => -v), lps[2], [0, 0, 0, 1]]
  return { order: order.map((o) => o.s), affine, sliceSpacing }
}

const SAMPLES: Readonly<Record<string, RawSample>> = {
  "8/0": RAW_SAMPLES.uint8,
  "8/1": RAW_SAMPLES.int8,
  "16/0": RAW_SAMPLES.uint16,
  "16/1": RAW_SAMPLES.int16,
  "32/0": RAW_SAMPLES.uint32,
  "32/1": RAW_SAMPLES.int32
}

/** The narrowest stored type that holds every rescaled value exactly (float32 for fractional rescales). */
const outputDtype = (slices: ReadonlyArray<SliceHeader>): Dtype => {
  const first = slices[0]
  const lo = first.signed ? -(2 ** (first.bitsStored - 1)) : 0
  const hi = first.signed ? 2 ** (first.bitsStored - 1) - 1 : 2 ** first.bitsStored - 1
  const integral = slices.every((s) => s.slope === 1 && Number.isInteger(s.intercept))
  if (!integral) return "float32"
  const intercepts = slices.map((s) => s.intercept)
  return dtypeForRange(lo + Math.min(...intercepts), hi + Math.max(...intercepts), true)
}

/** Reads a DICOM series directory as a canonical volume source. */
export const readDicomSeries = (dir: string, options: DicomOptions = {}): Effect.Effect<VolumeSource, InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const files = yield* Effect.try({
      try: () => listFiles(dir),
      catch: (e) => fail(dir, `cannot list directory: ${describe(e)}`)
    })
    const headers = yield* Effect.try({
      try: () => files.map(readSliceHeader).filter((h): h is SliceHeader => h !== undefined),
      catch: (e) => (e instanceof InputError ? e : fail(dir, describe(e)))
    })
    if (headers.length === 0)
      return yield* fail(
        dir,
        `no DICOM images among ${files.length} files, and no .tif/.tiff slices ` +
          '(DICOM Part 10 files start with "DICM" at byte 128); point source: at a series directory'
      )
    const { order, affine, sliceSpacing, first, sample, dtype } = yield* Effect.try({
      try: () => {
        const slices = selectSeries(dir, headers, options)
        checkUniform(slices)
        const g = geometry(dir, slices)
        const first = slices[0]
        const sample = SAMPLES[`${first.bitsAllocated}/${first.signed ? 1 : 0}`]
        return { ...g, first, sample, dtype: outputDtype(slices) }
      },
      catch: (e) => (e instanceof InputError ? e : fail(dir, describe(e)))
    })
    const fileDims: Vec3 = [first.columns, first.rows, order.length]
    const plan = canonicalPlan(fileDims, affine)
    const [X, Y, Z] = plan.dims
    const plane = first.columns * first.rows
    const frameBytes = plane * sample.bytes
    const storedMask = first.bitsStored < first.bitsAllocated ? 2 ** first.bitsStored - 1 : 0
    const signBit = first.signed && storedMask ? 2 ** (first.bitsStored - 1) : 0

    /** Decodes file slice k into `target` (file order, rescaled, of `dtype`). */
    const decodeSlice = async (k: number, target: VoxelArray): Promise<void> => {
      const h = order[k]
      const bytes = readFileSync(h.file)
      const truncated = (available: number) =>
        fail(
          h.file,
          `pixel data is truncated: ${Math.max(0, available)} bytes where ${first.columns}×${first.rows} ` +
            `${first.bitsAllocated}-bit pixels need ${frameBytes}; the file was cut short — copy or export it again`
        )
      let ds: dicomParser.DataSet
      try {
        ds = parse(bytes, false)
      } catch (e) {
        // a pixel data element running past the end of the file fails the whole parse: say so
        const start = (() => {
          try {
            return parse(bytes, true).elements[PIXEL_DATA]?.dataOffset
          } catch {
            return undefined
          }
        })()
        if (start !== undefined) throw truncated(bytes.length - start)
        throw fail(h.file, `cannot parse: ${describe(e)} (truncated or corrupt file? re-export it)`)
      }
      const el = ds.elements[PIXEL_DATA]
      let raw: Uint8Array
      if (el.encapsulatedPixelData) {
        if (!el.fragments || el.fragments.length === 0) throw fail(h.file, "encapsulated pixel data has no fragments")
        const frame = dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, el.fragments.length)
        try {
          raw = await decodeFrame(h.syntax.kind, frame, first)
        } catch (e) {
          throw fail(h.file, `cannot decode ${h.syntax.name} pixel data: ${describe(e)}`)
        }
        if (raw.length < frameBytes)
          throw fail(h.file, `${h.syntax.name} pixel data decodes to ${raw.length} bytes, expected ${frameBytes}`)
      } else {
        const data = ds.byteArray
        const available = Math.min(el.length, data.length - el.dataOffset)
        if (available < frameBytes) throw truncated(available)
        raw = new Uint8Array(frameBytes)
        raw.set(data.subarray(el.dataOffset, el.dataOffset + frameBytes))
        if (h.syntax.kind === "native-big-endian" && sample.bytes > 1) {
          const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
          if (sample.bytes === 2) b.swap16()
          else b.swap32()
        }
      }
      const values = sample.make(raw.buffer, raw.byteOffset, plane)
      const { slope, intercept } = h
      for (let i = 0; i < plane; i++) {
        let v = values[i]
        if (storedMask) {
          v = v & storedMask
          if (signBit && v & signBit) v -= 2 * signBit
        }
        target[i] = v * slope + intercept
      }
    }

    let readSlice: VolumeSource["readSlice"]
    if (plan.fileAxis[2] === 2) {
      const buffer = allocate(dtype, plane)
      const inPlaneBase = plan.base % plane
      readSlice = (z, out) =>
        Effect.tryPromise({
          try: async () => {
            const k = Math.floor((plan.base + z * plan.stride[2]) / plane)
            await decodeSlice(k, buffer)
            return gatherPlane(buffer, inPlaneBase, plan.stride, X, Y, out)
          },
          catch: (e) => (e instanceof InputError ? e : fail(order[0].file, describe(e)))
        })
    } else {
      const total = plane * order.length
      if (total * bytesPerVoxel(dtype) > MAX_IN_MEMORY_BYTES)
        return yield* fail(
          dir,
          `a ${order.length}-slice series whose slices are not axial is read into memory at once, and ${total} voxels are too many; ` +
            "convert it to NIfTI first (e.g. with dcm2niix)"
        )
      let volume: Promise<VoxelArray> | undefined
      const load = async () => {
        const all = allocate(dtype, total)
        for (let k = 0; k < order.length; k++) await decodeSlice(k, all.subarray(k * plane, (k + 1) * plane) as VoxelArray)
        return all
      }
      readSlice = (z, out) =>
        Effect.tryPromise({
          try: async () => {
            volume ??= load()
            return gatherPlane(await volume, plan.base + z * plan.stride[2], plan.stride, X, Y, out)
          },
          catch: (e) => (e instanceof InputError ? e : fail(order[0].file, describe(e)))
        })
    }
    const rescaled = order.some((s) => s.slope !== 1 || s.intercept !== 0)
    const spacing: Vec3 = [first.pixelSpacing[1], first.pixelSpacing[0], sliceSpacing]
    return {
      file: dir,
      format: "dicom",
      dims: [Z, Y, X],
      spacing: [spacing[plan.fileAxis[2]], spacing[plan.fileAxis[1]], spacing[plan.fileAxis[0]]],
      dtype,
      affine: plan.affine,
      axisCodes: axisCodesOf(plan.affine),
      native: {
        dims: [...fileDims],
        spacing: [...spacing],
        axisCodes: axisCodesOf(affine),
        voxelType:
          `${sample.name} (${first.syntax.name})` +
          (rescaled ? ` × ${first.slope} + ${first.intercept}` : "") +
          (first.bitsStored < first.bitsAllocated ? `, ${first.bitsStored} bits stored` : "")
      },
      readSlice: (z, out) =>
        Number.isInteger(z) && z >= 0 && z < Z ? readSlice(z, out) : Effect.fail(fail(dir, `slice ${z} out of range 0..${Z - 1}`))
    } satisfies VolumeSource
  })
