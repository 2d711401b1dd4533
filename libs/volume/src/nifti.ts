import { Effect, Scope } from "effect"
import { constants as bufferConstants } from "node:buffer"
import { createWriteStream, fstatSync, readFileSync, readSync } from "node:fs"
import { once } from "node:events"
import { constants as zlibConstants, createGzip, gunzipSync } from "node:zlib"
import { InputError } from "@tomoprior/core"
import { bytesPerVoxel, type Dtype, hostIsLittleEndian, RAW_SAMPLES, type RawArray, type RawSample, type VoxelArray } from "./dtype.ts"
import { axisCodesOf, canonicalPlan, gatherPlane, type Affine, type Vec3 } from "./orientation.ts"
import type { VolumeSource } from "./source.ts"
import { openFd } from "./store.ts"

/**
 * NIfTI-1/2 reading and writing. The header parser is our own (not nifti-reader-js): the reader
 * must follow nibabel's affine precedence (sform when sform_code > 0, then qform), validate every
 * size against the file before allocating, and get only the 348/540 header bytes of a .nii.gz.
 */

/** NIfTI datatype codes we read. */
const RAW_TYPES: Readonly<Record<number, RawSample>> = {
  2: RAW_SAMPLES.uint8,
  4: RAW_SAMPLES.int16,
  8: RAW_SAMPLES.int32,
  16: RAW_SAMPLES.float32,
  64: RAW_SAMPLES.float64,
  256: RAW_SAMPLES.int8,
  512: RAW_SAMPLES.uint16,
  768: RAW_SAMPLES.uint32
}
const UNSUPPORTED_TYPES: Readonly<Record<number, string>> = {
  1: "binary",
  32: "complex64",
  128: "RGB24",
  1024: "int64",
  1280: "uint64",
  1536: "float128",
  1792: "complex128",
  2048: "complex256",
  2304: "RGBA32"
}
const DTYPE_CODES: Readonly<Record<Dtype, number>> = { uint8: 2, int16: 4, int32: 8, float32: 16, uint16: 512 }

export interface NiftiHeader {
  readonly version: 1 | 2
  readonly littleEndian: boolean
  /** Spatial sizes (i, j, k). */
  readonly dims: Vec3
  readonly datatype: number
  readonly pixdim: Vec3
  readonly voxOffset: number
  readonly slope: number
  readonly inter: number
  readonly qformCode: number
  readonly sformCode: number
  /** Voxel (i, j, k) → RAS mm, chosen as nibabel does. */
  readonly affine: Array<Array<number>>
}

const fail = (file: string, problem: string) => new InputError({ file, problem })

const quaternionAffine = (b: number, c: number, d: number, qfac: number, pixdim: Vec3, offset: Vec3): Array<Array<number>> => {
  let a = 1 - (b * b + c * c + d * d)
  if (a < 1e-7) {
    // nibabel: treat as a 180° rotation and renormalize (b, c, d)
    const n = Math.hypot(b, c, d)
    ;[b, c, d] = [b / n, c / n, d / n]
    a = 0
  } else a = Math.sqrt(a)
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b]
  ]
  const zooms = [pixdim[0], pixdim[1], pixdim[2] * qfac]
  return [
    [r[0][0] * zooms[0], r[0][1] * zooms[1], r[0][2] * zooms[2], offset[0]],
    [r[1][0] * zooms[0], r[1][1] * zooms[1], r[1][2] * zooms[2], offset[1]],
    [r[2][0] * zooms[0], r[2][1] * zooms[1], r[2][2] * zooms[2], offset[2]],
    [0, 0, 0, 1]
  ]
}

/** nibabel's fallback when neither sform nor qform is set: x flipped, origin at the center. */
const baseAffine = (dims: Vec3, pixdim: Vec3): Array<Array<number>> => [
  [-pixdim[0], 0, 0, ((dims[0] - 1) / 2) * pixdim[0]],
  [0, pixdim[1], 0, -((dims[1] - 1) / 2) * pixdim[1]],
  [0, 0, pixdim[2], -((dims[2] - 1) / 2) * pixdim[2]],
  [0, 0, 0, 1]
]

/** Parses the first bytes of a NIfTI file (at least 348, or 540 for NIfTI-2). */
export const parseNiftiHeader = (file: string, bytes: Uint8Array): Effect.Effect<NiftiHeader, InputError> =>
  Effect.gen(function* () {
    if (bytes.length < 348) return yield* fail(file, `too short for a NIfTI header (${bytes.length} bytes)`)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const sizeLE = view.getInt32(0, true)
    const sizeBE = view.getInt32(0, false)
    const version = sizeLE === 348 || sizeBE === 348 ? 1 : sizeLE === 540 || sizeBE === 540 ? 2 : 0
    if (version === 0) return yield* fail(file, `not a NIfTI file (sizeof_hdr is ${sizeLE}, expected 348 or 540)`)
    const le = sizeLE === 348 || sizeLE === 540
    if (version === 2 && bytes.length < 540) return yield* fail(file, "truncated NIfTI-2 header")
    const magic = version === 1 ? String.fromCharCode(...bytes.subarray(344, 347)) : String.fromCharCode(...bytes.subarray(4, 7))
    const okMagic = version === 1 ? magic === "n+1" || magic === "ni1" : magic === "n+2" || magic === "ni2"
    if (!okMagic) return yield* fail(file, `bad NIfTI magic ${JSON.stringify(magic)}`)
    if (magic === "ni1" || magic === "ni2")
      return yield* fail(file, "two-file NIfTI (.hdr/.img) is not supported; convert to a single .nii")
    const i16 = (o: number) => view.getInt16(o, le)
    const i32 = (o: number) => view.getInt32(o, le)
    const f32 = (o: number) => view.getFloat32(o, le)
    const f64 = (o: number) => view.getFloat64(o, le)
    const i64 = (o: number) => Number(view.getBigInt64(o, le))
    const dim = (n: number) => (version === 1 ? i16(40 + 2 * n) : i64(16 + 8 * n))
    const pix = (n: number) => (version === 1 ? f32(76 + 4 * n) : f64(104 + 8 * n))
    const ndim = dim(0)
    if (ndim < 1 || ndim > 7) return yield* fail(file, `dim[0] = ${ndim}, must be 1..7`)
    const sizes = [1, 2, 3, 4, 5, 6, 7].map((n) => (n <= ndim ? dim(n) : 1))
    for (let n = 0; n < ndim; n++)
      if (!(sizes[n] >= 1)) return yield* fail(file, `dimension ${n + 1} has size ${sizes[n]}; sizes must be ≥ 1`)
    const extra = sizes.slice(3).reduce((a, b) => a * b, 1)
    if (extra !== 1) return yield* fail(file, `${ndim}-D image with ${extra} volumes; only single 3-D volumes are supported`)
    const datatype = version === 1 ? i16(70) : i16(12)
    const pixdim: Vec3 = [Math.abs(pix(1)) || 1, Math.abs(pix(2)) || 1, Math.abs(pix(3)) || 1]
    const qfac = pix(0) < 0 ? -1 : 1
    const voxOffset = version === 1 ? f32(108) : i64(168)
    const slope = version === 1 ? f32(112) : f64(176)
    const inter = version === 1 ? f32(116) : f64(184)
    const qformCode = version === 1 ? i16(252) : i32(344)
    const sformCode = version === 1 ? i16(254) : i32(348)
    const dims: Vec3 = [sizes[0], sizes[1], sizes[2]]
    const minOffset = version === 1 ? 348 : 540
    if (!Number.isFinite(voxOffset) || voxOffset < minOffset || !Number.isInteger(voxOffset))
      return yield* fail(file, `vox_offset ${voxOffset} is invalid (must be an integer ≥ ${minOffset})`)
    let affine: Array<Array<number>>
    if (sformCode > 0) {
      const row = (o: number) => [0, 1, 2, 3].map((c) => (version === 1 ? f32(o + 4 * c) : f64(o + 8 * c)))
      affine = version === 1 ? [row(280), row(296), row(312), [0, 0, 0, 1]] : [row(400), row(432), row(464), [0, 0, 0, 1]]
    } else if (qformCode > 0) {
      const q = version === 1 ? [f32(256), f32(260), f32(264)] : [f64(352), f64(360), f64(368)]
      const off: Vec3 = version === 1 ? [f32(268), f32(272), f32(276)] : [f64(376), f64(384), f64(392)]
      affine = quaternionAffine(q[0], q[1], q[2], qfac, pixdim, off)
    } else affine = baseAffine(dims, pixdim)
    if (affine.flat().some((v) => !Number.isFinite(v))) return yield* fail(file, "affine (sform/qform) contains non-finite numbers")
    const m = affine
    const det =
      m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
      m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
      m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    if (det === 0) return yield* fail(file, "affine is singular; the voxel axes have no orientation")
    return { version, littleEndian: le, dims, datatype, pixdim, voxOffset, slope, inter, qformCode, sformCode, affine }
  })

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b

/** Deflate cannot expand more than ~1032:1, so a header promising more than that is lying. */
const MAX_DEFLATE_RATIO = 1100

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

const scaleOf = (h: NiftiHeader): { slope: number; inter: number } | undefined =>
  Number.isFinite(h.slope) && h.slope !== 0 && (h.slope !== 1 || (Number.isFinite(h.inter) && h.inter !== 0))
    ? { slope: h.slope, inter: Number.isFinite(h.inter) ? h.inter : 0 }
    : undefined

/** A typed array over raw voxels in host order, copying when misaligned or big-endian. */
const rawView = (type: RawSample, bytes: Uint8Array, littleEndian: boolean, length: number): RawArray => {
  const aligned = bytes.byteOffset % type.bytes === 0
  if (aligned && littleEndian === hostIsLittleEndian) return type.make(bytes.buffer, bytes.byteOffset, length)
  const copy = Buffer.from(bytes.subarray(0, length * type.bytes))
  if (littleEndian !== hostIsLittleEndian) {
    if (type.bytes === 2) copy.swap16()
    else if (type.bytes === 4) copy.swap32()
    else if (type.bytes === 8) copy.swap64()
  }
  return type.make(copy.buffer, copy.byteOffset, length)
}

/**
 * Opens a .nii or .nii.gz as a canonical (RAS+) volume source. A .nii whose slice axis is already
 * the file's k axis is read slab by slab with positioned reads; a .nii.gz (not seekable) or a
 * permuted .nii is decompressed/read once into memory after the sizes have been checked.
 */
export const readNifti = (file: string): Effect.Effect<VolumeSource, InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const fd = yield* openFd(file, "r")
    const fileSize = fstatSync(fd).size
    const head = Buffer.alloc(Math.min(fileSize, 65536))
    readSync(fd, head, 0, head.length, 0)
    const gz = isGzip(head)
    const headerBytes = gz
      ? yield* Effect.try({
          try: () => gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH }),
          catch: (e) => fail(file, `corrupt gzip data: ${describe(e)}`)
        })
      : head
    if (gz && headerBytes.length < 348) return yield* fail(file, `truncated or corrupt gzip: only ${headerBytes.length} bytes decompress`)
    const h = yield* parseNiftiHeader(file, headerBytes)
    const type = RAW_TYPES[h.datatype]
    if (!type) {
      const known = UNSUPPORTED_TYPES[h.datatype]
      return yield* fail(
        file,
        known ? `unsupported NIfTI datatype ${known} (code ${h.datatype})` : `unknown NIfTI datatype code ${h.datatype}`
      )
    }
    const count = h.dims[0] * h.dims[1] * h.dims[2]
    const dataBytes = count * type.bytes
    const needed = h.voxOffset + dataBytes
    if (gz) {
      if (needed > fileSize * MAX_DEFLATE_RATIO)
        return yield* fail(
          file,
          `header promises ${needed} bytes of data, impossible for ${fileSize} compressed bytes (dims larger than the data?)`
        )
      if (needed > bufferConstants.MAX_LENGTH)
        return yield* fail(file, `image of ${needed} bytes is too large to decompress in memory; store it as uncompressed .nii`)
    } else if (needed > fileSize) {
      return yield* fail(
        file,
        `header promises ${needed} bytes (dims ${h.dims.join("×")} of ${type.name} at offset ${h.voxOffset}) but the file has ${fileSize}`
      )
    }
    const plan = canonicalPlan(h.dims, h.affine)
    const scale = scaleOf(h)
    const dtype: Dtype = scale ? "float32" : type.dtype
    const native = {
      dims: [...h.dims],
      spacing: [...h.pixdim],
      axisCodes: axisCodesOf(h.affine),
      voxelType: type.name + (scale ? ` × ${scale.slope} + ${scale.inter}` : "")
    }
    const [X, Y, Z] = plan.dims
    const spacing: [number, number, number] = [h.pixdim[plan.fileAxis[2]], h.pixdim[plan.fileAxis[1]], h.pixdim[plan.fileAxis[0]]]
    const slab = h.dims[0] * h.dims[1]
    const inPlaneBase = plan.base % slab

    const gather = (src: RawArray, base: number, out: VoxelArray): VoxelArray => gatherPlane(src, base, plan.stride, X, Y, out, scale)

    let readSlice: VolumeSource["readSlice"]
    if (!gz && plan.fileAxis[2] === 2) {
      const slabBuffer = Buffer.alloc(slab * type.bytes)
      readSlice = (z, out) =>
        Effect.try({
          try: () => {
            const first = plan.base - inPlaneBase + z * plan.stride[2]
            const got = readSync(fd, slabBuffer, 0, slabBuffer.length, h.voxOffset + first * type.bytes)
            if (got !== slabBuffer.length) throw new Error(`short read of slice ${z}`)
            return gather(rawView(type, slabBuffer, h.littleEndian, slab), inPlaneBase, out)
          },
          catch: (e) => fail(file, describe(e))
        })
    } else {
      const all = gz
        ? yield* Effect.try({
            try: () => gunzipSync(readFileSync(file), { maxOutputLength: needed + (1 << 20) }),
            catch: (e) => fail(file, `cannot decompress: ${describe(e)} (truncated or corrupt gzip?)`)
          })
        : yield* Effect.try({
            try: () => {
              const b = Buffer.alloc(dataBytes)
              if (readSync(fd, b, 0, dataBytes, h.voxOffset) !== dataBytes) throw new Error("short read")
              return b
            },
            catch: (e) => fail(file, `cannot read voxels: ${describe(e)}`)
          })
      const dataStart = gz ? h.voxOffset : 0
      if (all.length < dataStart + dataBytes)
        return yield* fail(file, `decompressed to ${all.length} bytes but the header promises ${needed} (dims larger than the data?)`)
      const src = rawView(type, all.subarray(dataStart, dataStart + dataBytes), h.littleEndian, count)
      readSlice = (z, out) => Effect.sync(() => gather(src, plan.base + z * plan.stride[2], out))
    }
    const checked: VolumeSource["readSlice"] = (z, out) =>
      z >= 0 && z < Z && Number.isInteger(z) ? readSlice(z, out) : Effect.fail(fail(file, `slice ${z} out of range 0..${Z - 1}`))
    return {
      file,
      format: "nifti",
      dims: [Z, Y, X],
      spacing,
      dtype,
      affine: plan.affine,
      axisCodes: axisCodesOf(plan.affine),
      native,
      readSlice: checked
    } satisfies VolumeSource
  })

export interface NiftiWriteOptions {
  /** Canonical [z, y, x] sizes; written as i = x, j = y, k = z. */
  readonly dims: readonly [number, number, number]
  readonly dtype: Dtype
  /** Voxel (x, y, z) → RAS mm, stored as the sform. */
  readonly affine: Affine
  readonly spacing: readonly [number, number, number]
  /** Header scaling: readers compute raw * slope + inter. */
  readonly scale?: { readonly slope: number; readonly inter: number }
}

const niftiHeaderBytes = (o: NiftiWriteOptions): Buffer => {
  const b = Buffer.alloc(352)
  b.writeInt32LE(348, 0)
  b.writeInt16LE(3, 40)
  b.writeInt16LE(o.dims[2], 42)
  b.writeInt16LE(o.dims[1], 44)
  b.writeInt16LE(o.dims[0], 46)
  for (let n = 4; n <= 7; n++) b.writeInt16LE(1, 40 + 2 * n)
  b.writeInt16LE(DTYPE_CODES[o.dtype], 70)
  b.writeInt16LE(bytesPerVoxel(o.dtype) * 8, 72)
  b.writeFloatLE(1, 76)
  b.writeFloatLE(o.spacing[2], 80)
  b.writeFloatLE(o.spacing[1], 84)
  b.writeFloatLE(o.spacing[0], 88)
  b.writeFloatLE(352, 108)
  b.writeFloatLE(o.scale?.slope ?? 1, 112)
  b.writeFloatLE(o.scale?.inter ?? 0, 116)
  b.writeUInt8(2, 123) // xyzt_units: mm
  b.writeInt16LE(0, 252)
  b.writeInt16LE(2, 254) // sform_code: aligned anatomy
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) b.writeFloatLE(o.affine[r][c], 280 + 16 * r + 4 * c)
  b.write("n+1\0", 344, "latin1")
  return b
}

/**
 * Writes a NIfTI-1 file (.nii, or gzip-compressed when the name ends in .gz), streaming slices
 * from `produce` (each of type `dtype`, canonical order).
 */
export const writeNifti = <E>(
  file: string,
  options: NiftiWriteOptions,
  produce: (z: number) => Effect.Effect<VoxelArray, E>
): Effect.Effect<void, E | InputError> =>
  Effect.gen(function* () {
    const sink = createWriteStream(file)
    const gzip = file.endsWith(".gz") ? createGzip({ level: 3 }) : undefined
    if (gzip) gzip.pipe(sink)
    const target = gzip ?? sink
    const failed = new Promise<never>((_, reject) => {
      sink.on("error", reject)
      gzip?.on("error", reject)
    })
    failed.catch(() => undefined)
    const push = (chunk: Uint8Array) =>
      Effect.tryPromise({
        try: async () => {
          if (!target.write(chunk)) await Promise.race([once(target, "drain"), failed])
        },
        catch: (e) => fail(file, `cannot write: ${describe(e)}`)
      })
    yield* push(niftiHeaderBytes(options))
    for (let z = 0; z < options.dims[0]; z++) {
      const slice = yield* produce(z)
      // copied: the producer may reuse its array before the stream has consumed the chunk
      yield* push(
        Buffer.from(Buffer.from(slice.buffer, slice.byteOffset, options.dims[1] * options.dims[2] * bytesPerVoxel(options.dtype)))
      )
    }
    yield* Effect.tryPromise({
      try: async () => {
        target.end()
        await Promise.race([once(sink, "close"), failed])
      },
      catch: (e) => fail(file, `cannot write: ${describe(e)}`)
    })
  })
