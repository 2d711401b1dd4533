import { Effect, Scope } from "effect"
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync, writeSync } from "node:fs"
import { join } from "node:path"
import { deflateSync, inflateSync } from "node:zlib"
import { fromFile, type GeoTIFF } from "geotiff"
import { InputError } from "@tomoprior/core"
import { bytesPerVoxel, type Dtype, hostIsLittleEndian, RAW_SAMPLES, type RawArray, type RawSample, type VoxelArray } from "./dtype.ts"
import { identityAffine } from "./orientation.ts"
import type { VolumeSource } from "./source.ts"
import { openFd } from "./store.ts"

/**
 * TIFF stacks. The IFD chain and tags are parsed here (with bounds and loop checks that geotiff
 * does not make), and uncompressed or Deflate strips are decoded directly with positioned reads and
 * node:zlib — the fast path of ecosystem.md §3. geotiff decodes everything else (LZW, PackBits,
 * tiles, other codecs).
 */

/** TIFF "BitsPerSample/SampleFormat" pairs we read. */
const SAMPLE_TYPES: Readonly<Record<string, RawSample>> = {
  "8/1": RAW_SAMPLES.uint8,
  "8/2": RAW_SAMPLES.int8,
  "16/1": RAW_SAMPLES.uint16,
  "16/2": RAW_SAMPLES.int16,
  "32/1": RAW_SAMPLES.uint32,
  "32/2": RAW_SAMPLES.int32,
  "32/3": RAW_SAMPLES.float32,
  "64/3": RAW_SAMPLES.float64
}

const COMPRESSION_NAMES: Readonly<Record<number, string>> = {
  1: "none",
  5: "LZW",
  8: "Deflate",
  32946: "Deflate",
  32773: "PackBits",
  7: "JPEG",
  50000: "zstd"
}

export interface TiffPage {
  readonly index: number
  readonly width: number
  readonly height: number
  readonly sample: RawSample
  readonly compression: number
  readonly predictor: number
  readonly littleEndian: boolean
  /** Strip or tile offsets and byte counts (all checked to lie inside the file). */
  readonly offsets: ReadonlyArray<number>
  readonly byteCounts: ReadonlyArray<number>
  readonly rowsPerStrip: number
  readonly tiled: boolean
}

const TYPE_SIZES: Readonly<Record<number, number>> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8
}

/** Hard caps so hostile headers cannot make us allocate or loop without end. */
const MAX_PAGES = 1_000_000
const MAX_PAGE_PIXELS = 1 << 30
/** No TIFF codec we accept expands data more than this (Deflate ≈ 1032:1, LZW ≈ 2700:1 at most). */
const MAX_EXPANSION = 5000

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))
const toInputError = (file: string) => (e: unknown) => (e instanceof InputError ? e : new InputError({ file, problem: describe(e) }))

class Reader {
  constructor(
    readonly fd: number,
    readonly file: string,
    readonly size: number
  ) {}
  at(position: number, length: number, what: string): Buffer {
    if (!(position >= 0) || position + length > this.size)
      throw new InputError({
        file: this.file,
        problem: `${what} at byte ${position} (+${length}) lies outside the file (${this.size} bytes)`
      })
    const b = Buffer.alloc(length)
    let done = 0
    while (done < length) {
      const got = readSync(this.fd, b, done, length - done, position + done)
      if (got === 0) throw new InputError({ file: this.file, problem: `unexpected end of file reading ${what}` })
      done += got
    }
    return b
  }
}

/** Walks the IFD chain of a TIFF or BigTIFF and returns its pages, validated. */
export const parseTiffPages = (fd: number, file: string): ReadonlyArray<TiffPage> => {
  const size = fstatSync(fd).size
  const r = new Reader(fd, file, size)
  if (size < 8) throw new InputError({ file, problem: `too short for a TIFF file (${size} bytes)` })
  const head = r.at(0, Math.min(16, size), "header")
  const order = head.toString("latin1", 0, 2)
  if (order !== "II" && order !== "MM")
    throw new InputError({ file, problem: `not a TIFF file (starts with ${JSON.stringify(head.toString("latin1", 0, 4))})` })
  const le = order === "II"
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o))
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o))
  const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o))
  const magic = u16(head, 2)
  if (magic !== 42 && magic !== 43) throw new InputError({ file, problem: `not a TIFF file (version ${magic}, expected 42 or 43)` })
  const big = magic === 43
  if (big && size < 16) throw new InputError({ file, problem: "truncated BigTIFF header" })
  const entrySize = big ? 20 : 12
  const inline = big ? 8 : 4
  let offset = big ? u64(head, 8) : u32(head, 4)
  const seen = new Set<number>()
  const pages: Array<TiffPage> = []
  while (offset !== 0) {
    const index = pages.length
    if (seen.has(offset)) throw new InputError({ file, problem: `loop in the IFD chain: page ${index} points back to byte ${offset}` })
    if (index >= MAX_PAGES) throw new InputError({ file, problem: `more than ${MAX_PAGES} pages` })
    seen.add(offset)
    const countBytes = r.at(offset, big ? 8 : 2, `IFD of page ${index}`)
    const n = big ? u64(countBytes, 0) : u16(countBytes, 0)
    const body = r.at(offset + (big ? 8 : 2), n * entrySize + (big ? 8 : 4), `IFD of page ${index}`)
    const tags = new Map<number, Array<number>>()
    for (let e = 0; e < n; e++) {
      const p = e * entrySize
      const tag = u16(body, p)
      const type = u16(body, p + 2)
      const count = big ? u64(body, p + 4) : u32(body, p + 4)
      const typeSize = TYPE_SIZES[type]
      if (![256, 257, 258, 259, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 339].includes(tag) || !typeSize) continue
      if (![1, 3, 4, 16].includes(type)) throw new InputError({ file, problem: `page ${index}: tag ${tag} has non-integer type ${type}` })
      const valuePos = p + (big ? 12 : 8)
      const bytes = count * typeSize
      const src =
        bytes <= inline
          ? body.subarray(valuePos, valuePos + bytes)
          : r.at(big ? u64(body, valuePos) : u32(body, valuePos), bytes, `tag ${tag} of page ${index}`)
      const values: Array<number> = new Array(count)
      for (let i = 0; i < count; i++)
        values[i] = typeSize === 1 ? src[i] : typeSize === 2 ? u16(src, i * 2) : typeSize === 4 ? u32(src, i * 4) : u64(src, i * 8)
      tags.set(tag, values)
    }
    const one = (tag: number, fallback?: number): number => {
      const v = tags.get(tag)?.[0] ?? fallback
      if (v === undefined) throw new InputError({ file, problem: `page ${index}: required tag ${tag} is missing` })
      return v
    }
    const width = one(256)
    const height = one(257)
    if (width < 1 || height < 1 || width * height > MAX_PAGE_PIXELS)
      throw new InputError({ file, problem: `page ${index}: size ${width}×${height} is not usable` })
    const spp = one(277, 1)
    if (spp !== 1)
      throw new InputError({ file, problem: `page ${index}: ${spp} samples per pixel; only single-channel (grey) stacks are supported` })
    const bits = one(258, 1)
    const format = one(339, 1)
    const sample = SAMPLE_TYPES[`${bits}/${format}`]
    if (!sample) throw new InputError({ file, problem: `page ${index}: unsupported sample type (${bits} bits, SampleFormat ${format})` })
    const tiled = tags.has(322)
    const offsets = tags.get(tiled ? 324 : 273)
    const byteCounts = tags.get(tiled ? 325 : 279)
    if (!offsets || !byteCounts || offsets.length !== byteCounts.length)
      throw new InputError({ file, problem: `page ${index}: missing or inconsistent strip offsets/byte counts` })
    for (let s = 0; s < offsets.length; s++)
      if (offsets[s] + byteCounts[s] > size)
        throw new InputError({
          file,
          problem: `page ${index}: strip ${s} at byte ${offsets[s]} (+${byteCounts[s]}) lies outside the file (${size} bytes)`
        })
    const rowsPerStrip = Math.min(one(278, height), height)
    if (!tiled && rowsPerStrip < 1) throw new InputError({ file, problem: `page ${index}: RowsPerStrip is 0` })
    if (tiled && (one(322) < 1 || one(323, 0) < 1))
      throw new InputError({ file, problem: `page ${index}: tile size ${one(322)}×${one(323, 0)} is not usable` })
    if (!tiled && offsets.length < Math.ceil(height / Math.max(rowsPerStrip, 1)))
      throw new InputError({ file, problem: `page ${index}: ${offsets.length} strips cannot hold ${height} rows of ${rowsPerStrip}` })
    const compression = one(259, 1)
    const stored = byteCounts.reduce((a, b) => a + b, 0)
    const decoded = width * height * sample.bytes
    if (compression === 1 ? stored < decoded : decoded > stored * MAX_EXPANSION)
      throw new InputError({
        file,
        problem:
          `page ${index}: ${width}×${height} ${sample.name} needs ${decoded} bytes but its ` +
          `strips hold ${stored}${compression === 1 ? "" : " compressed"} (dims larger than the data?)`
      })
    pages.push({
      index,
      width,
      height,
      sample,
      compression,
      predictor: one(317, 1),
      littleEndian: le,
      offsets,
      byteCounts,
      rowsPerStrip,
      tiled
    })
    offset = big ? u64(body, n * entrySize) : u32(body, n * entrySize)
  }
  if (pages.length === 0) throw new InputError({ file, problem: "TIFF has no pages" })
  return pages
}

const hasFastPath = (p: TiffPage) =>
  !p.tiled &&
  (p.compression === 1 || p.compression === 8 || p.compression === 32946) &&
  (p.predictor === 1 || (p.predictor === 2 && p.sample.integer))

const swapInPlace = (bytes: Buffer, size: number) => {
  if (size === 2) bytes.swap16()
  else if (size === 4) bytes.swap32()
  else if (size === 8) bytes.swap64()
}

const undoHorizontalPredictor = (a: RawArray, width: number, rows: number) => {
  for (let r = 0; r < rows; r++) {
    const row = r * width
    for (let x = 1; x < width; x++) a[row + x] += a[row + x - 1]
  }
}

/** Decodes one strip-organized page into `raw` (page-sized bytes, host order). */
const decodeFast = (r: Reader, page: TiffPage, raw: Buffer) => {
  const bpe = page.sample.bytes
  const rowBytes = page.width * bpe
  const strips = Math.ceil(page.height / page.rowsPerStrip)
  let s = 0
  while (s < strips) {
    const firstRow = s * page.rowsPerStrip
    if (page.compression === 1) {
      // coalesce strips that follow each other in the file into one read
      let e = s + 1
      while (e < strips && page.offsets[e] === page.offsets[e - 1] + page.rowsPerStrip * rowBytes) e++
      const rows = Math.min(e * page.rowsPerStrip, page.height) - firstRow
      const bytes = rows * rowBytes
      if (page.offsets[s] + bytes > r.size)
        throw new InputError({
          file: r.file,
          problem: `page ${page.index}: strip data at byte ${page.offsets[s]} runs past the end of the file`
        })
      const target = raw.subarray(firstRow * rowBytes, firstRow * rowBytes + bytes)
      let done = 0
      while (done < bytes) {
        const got = readSync(r.fd, target, done, bytes - done, page.offsets[s] + done)
        if (got === 0) throw new InputError({ file: r.file, problem: `page ${page.index}: unexpected end of file` })
        done += got
      }
      s = e
    } else {
      const rows = Math.min(firstRow + page.rowsPerStrip, page.height) - firstRow
      const compressed = r.at(page.offsets[s], page.byteCounts[s], `strip ${s} of page ${page.index}`)
      let plain: Buffer
      try {
        plain = inflateSync(compressed, { maxOutputLength: page.rowsPerStrip * rowBytes + 1024 })
      } catch (e) {
        throw new InputError({ file: r.file, problem: `page ${page.index}, strip ${s}: corrupt Deflate data (${describe(e)})` })
      }
      if (plain.length < rows * rowBytes)
        throw new InputError({
          file: r.file,
          problem: `page ${page.index}, strip ${s}: ${plain.length} bytes after inflating, expected ${rows * rowBytes}`
        })
      plain.copy(raw, firstRow * rowBytes, 0, rows * rowBytes)
      s++
    }
  }
  if (page.littleEndian !== hostIsLittleEndian) swapInPlace(raw, bpe)
  if (page.predictor === 2)
    undoHorizontalPredictor(page.sample.make(raw.buffer, raw.byteOffset, page.width * page.height), page.width, page.height)
}

export interface TiffOptions {
  /** [z, y, x] spacing in mm; TIFF carries none that means anything for a stack. */
  readonly spacing?: readonly [number, number, number]
}

interface PageRef {
  readonly file: string
  readonly page: TiffPage
}

/** Shared by stacks and directories: a list of pages of one size and sample type, page index = z. */
const pageSource = (
  file: string,
  format: "tiff" | "tiff-directory",
  refs: ReadonlyArray<PageRef>,
  withReader: <A>(file: string, use: (r: Reader) => A) => A,
  withGeotiff: <A>(file: string, use: (tiff: GeoTIFF) => Promise<A>) => Promise<A>,
  options: TiffOptions
): VolumeSource => {
  const first = refs[0].page
  for (const { file: f, page } of refs) {
    if (page.width !== first.width || page.height !== first.height || page.sample !== first.sample)
      throw new InputError({
        file: f,
        problem:
          `page ${page.index} is ${page.width}×${page.height} ${page.sample.name}, ` +
          `but the stack starts with ${first.width}×${first.height} ${first.sample.name}`
      })
  }
  const X = first.width
  const Y = first.height
  const Z = refs.length
  const n = X * Y
  const sample = first.sample
  const dtype = sample.dtype
  const raw = Buffer.alloc(n * sample.bytes)
  const rawTyped = sample.make(raw.buffer, raw.byteOffset, n)
  const spacing = options.spacing ?? [1, 1, 1]
  const compressions = [...new Set(refs.map((p) => COMPRESSION_NAMES[p.page.compression] ?? `compression ${p.page.compression}`))]
  const readSlice: VolumeSource["readSlice"] = (z, out) => {
    if (!(Number.isInteger(z) && z >= 0 && z < Z))
      return Effect.fail(new InputError({ file, problem: `slice ${z} out of range 0..${Z - 1}` }))
    const { file: f, page } = refs[z]
    const direct = sample.dtype === sample.name && out.length === n && out.constructor === rawTyped.constructor
    if (hasFastPath(page)) {
      return Effect.try({
        try: () => {
          const target = direct ? Buffer.from(out.buffer, out.byteOffset, n * sample.bytes) : raw
          withReader(f, (r) => decodeFast(r, page, target))
          if (!direct) out.set(rawTyped)
          return out
        },
        catch: toInputError(f)
      })
    }
    return Effect.tryPromise({
      try: async () => {
        const rasters = await withGeotiff(
          f,
          async (tiff) =>
            (await (await tiff.getImage(page.index)).readRasters({ samples: [0] })) as unknown as ReadonlyArray<ArrayLike<number>>
        )
        const band = rasters[0]
        if (band.length !== n) throw new Error(`decoded ${band.length} pixels, expected ${n}`)
        out.set(band as ArrayLike<number>)
        return out
      },
      catch: (e) =>
        new InputError({
          file: f,
          problem: `page ${page.index} (${COMPRESSION_NAMES[page.compression] ?? page.compression}): cannot decode: ${describe(e)}`
        })
    })
  }
  return {
    file,
    format,
    dims: [Z, Y, X],
    spacing: [spacing[0], spacing[1], spacing[2]],
    dtype,
    affine: identityAffine([spacing[2], spacing[1], spacing[0]]),
    axisCodes: ["?", "?", "?"],
    native: {
      dims: [X, Y, Z],
      spacing: [spacing[2], spacing[1], spacing[0]],
      axisCodes: ["?", "?", "?"],
      voxelType: `${sample.name} (${compressions.join(", ")})`
    },
    readSlice
  }
}

const closeGeotiff = async (tiff: GeoTIFF) => void (await tiff.close())

/** A stack keeps its one geotiff handle open (it parses the IFD chain once) until the scope closes. */
const geotiffCache = () => {
  const open = new Map<string, Promise<GeoTIFF>>()
  return {
    use: async <A>(file: string, use: (tiff: GeoTIFF) => Promise<A>): Promise<A> => {
      let t = open.get(file)
      if (!t) {
        t = fromFile(file)
        open.set(file, t)
      }
      return use(await t)
    },
    close: Effect.promise(async () => {
      for (const t of open.values()) await t.then(closeGeotiff).catch(() => undefined)
    })
  }
}

/** A multi-page TIFF or BigTIFF as a volume: page p = slice z. */
export const readTiffStack = (file: string, options: TiffOptions = {}): Effect.Effect<VolumeSource, InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const fd = yield* openFd(file, "r")
    const pages = yield* Effect.try({ try: () => parseTiffPages(fd, file), catch: toInputError(file) })
    const reader = new Reader(fd, file, fstatSync(fd).size)
    const cache = yield* Effect.acquireRelease(Effect.sync(geotiffCache), (c) => c.close)
    return yield* Effect.try({
      try: () =>
        pageSource(
          file,
          "tiff",
          pages.map((page) => ({ file, page })),
          (_f, use) => use(reader),
          cache.use,
          options
        ),
      catch: toInputError(file)
    })
  })

const TIFF_NAME = /\.tiff?$/i
const naturalOrder = new Intl.Collator("en", { numeric: true }).compare

/** A directory of single-page TIFFs, in natural name order (slice_2 before slice_10). */
export const readTiffDirectory = (dir: string, options: TiffOptions = {}): Effect.Effect<VolumeSource, InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const names = yield* Effect.try({
      try: () =>
        readdirSync(dir)
          .filter((n) => TIFF_NAME.test(n))
          .sort(naturalOrder),
      catch: (e) => new InputError({ file: dir, problem: `cannot list directory: ${describe(e)}` })
    })
    if (names.length === 0) return yield* new InputError({ file: dir, problem: "directory contains no .tif/.tiff files" })
    const withReader = <A>(file: string, use: (r: Reader) => A): A => {
      const fd = openSync(file, "r")
      try {
        return use(new Reader(fd, file, fstatSync(fd).size))
      } finally {
        closeSync(fd)
      }
    }
    const refs = yield* Effect.forEach(names, (name) => {
      const file = join(dir, name)
      return Effect.try({
        try: () => {
          const pages = withReader(file, (r) => parseTiffPages(r.fd, file))
          if (pages.length !== 1)
            throw new InputError({ file, problem: `has ${pages.length} pages; a directory of slices needs one page per file` })
          return { file, page: pages[0] }
        },
        catch: toInputError(file)
      })
    })
    // one file per slice: open and close each, so thousands of slices never hold thousands of handles
    const withGeotiff = async <A>(file: string, use: (tiff: GeoTIFF) => Promise<A>): Promise<A> => {
      const tiff = await fromFile(file)
      try {
        return await use(tiff)
      } finally {
        await closeGeotiff(tiff)
      }
    }
    return yield* Effect.try({
      try: () => pageSource(dir, "tiff-directory", refs, withReader, withGeotiff, options),
      catch: toInputError(dir)
    })
  })

export const isDirectory = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false

export interface TiffWriteOptions {
  /** [z, y, x]; z pages of y rows × x columns. */
  readonly dims: readonly [number, number, number]
  readonly dtype: Dtype
  readonly compression?: "none" | "deflate"
  /** Default: BigTIFF only when the file could pass 4 GB. */
  readonly bigTiff?: boolean
  readonly rowsPerStrip?: number
}

const SAMPLE_FORMAT: Readonly<Record<Dtype, number>> = { uint8: 1, uint16: 1, int16: 2, int32: 2, float32: 3 }

/**
 * Writes a multi-page (Big)TIFF page by page: each page's strips, then its IFD, then the previous
 * IFD's next-pointer is patched — memory stays one page whatever the stack size.
 */
export const writeTiff = <E>(
  file: string,
  options: TiffWriteOptions,
  produce: (z: number) => Effect.Effect<VoxelArray, E>
): Effect.Effect<void, E | InputError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const [Z, Y, X] = options.dims
      const bpe = bytesPerVoxel(options.dtype)
      const pageBytes = X * Y * bpe
      const big = options.bigTiff ?? Z * pageBytes + Z * 4096 > 0xffff_0000
      const deflate = options.compression === "deflate"
      const predictor = deflate && options.dtype !== "float32" ? 2 : 1
      const rowsPerStrip = Math.max(1, Math.min(Y, options.rowsPerStrip ?? Math.floor(262144 / (X * bpe))))
      const strips = Math.ceil(Y / rowsPerStrip)
      const fd = yield* openFd(file, "w")
      let pos = 0
      const put = (b: Buffer, at: number) =>
        Effect.try({
          try: () => {
            let done = 0
            while (done < b.length) done += writeSync(fd, b, done, b.length - done, at + done)
          },
          catch: (e) => new InputError({ file, problem: `cannot write: ${describe(e)}` })
        })
      const head = Buffer.alloc(big ? 16 : 8)
      head.write("II", 0, "latin1")
      head.writeUInt16LE(big ? 43 : 42, 2)
      if (big) head.writeUInt16LE(8, 4)
      yield* put(head, 0)
      pos = head.length
      let nextPointer = big ? 8 : 4
      const diffRow = (a: VoxelArray, row: number) => {
        for (let x = X - 1; x > 0; x--) a[row * X + x] -= a[row * X + x - 1]
      }
      for (let z = 0; z < Z; z++) {
        const slice = yield* produce(z)
        const offsets: Array<number> = []
        const counts: Array<number> = []
        for (let s = 0; s < strips; s++) {
          const r0 = s * rowsPerStrip
          const r1 = Math.min(Y, r0 + rowsPerStrip)
          let bytes = Buffer.from(slice.buffer, slice.byteOffset + r0 * X * bpe, (r1 - r0) * X * bpe)
          if (deflate) {
            if (predictor === 2) {
              const copy = slice.slice(r0 * X, r1 * X) as VoxelArray
              for (let r = 0; r < r1 - r0; r++) diffRow(copy, r)
              bytes = Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength)
            }
            bytes = deflateSync(bytes, { level: 3 })
          }
          yield* put(bytes, pos)
          offsets.push(pos)
          counts.push(bytes.length)
          pos += bytes.length
        }
        if (pos % 2) pos++ // IFDs start on a word boundary
        const offsetType = big ? 16 : 4
        const arrayBytes = (count: number) => count * (big ? 8 : 4)
        const writeArray = (values: ReadonlyArray<number>) => {
          const b = Buffer.alloc(arrayBytes(values.length))
          values.forEach((v, i) => (big ? b.writeBigUInt64LE(BigInt(v), i * 8) : b.writeUInt32LE(v, i * 4)))
          return b
        }
        const inlineLimit = big ? 8 : 4
        let offsetsAt = 0
        let countsAt = 0
        if (arrayBytes(strips) > inlineLimit) {
          offsetsAt = pos
          yield* put(writeArray(offsets), pos)
          pos += arrayBytes(strips)
          countsAt = pos
          yield* put(writeArray(counts), pos)
          pos += arrayBytes(strips)
        }
        const entries: Array<[number, number, number, number | Buffer]> = [
          [256, 4, 1, X],
          [257, 4, 1, Y],
          [258, 3, 1, bpe * 8],
          [259, 3, 1, deflate ? 8 : 1],
          [262, 3, 1, 1],
          [273, offsetType, strips, arrayBytes(strips) > inlineLimit ? offsetsAt : writeArray(offsets)],
          [277, 3, 1, 1],
          [278, 4, 1, rowsPerStrip],
          [279, offsetType, strips, arrayBytes(strips) > inlineLimit ? countsAt : writeArray(counts)],
          [284, 3, 1, 1],
          ...(predictor === 2 ? [[317, 3, 1, 2] as [number, number, number, number]] : []),
          [339, 3, 1, SAMPLE_FORMAT[options.dtype]]
        ]
        const entrySize = big ? 20 : 12
        const ifd = Buffer.alloc((big ? 8 : 2) + entries.length * entrySize + (big ? 8 : 4))
        if (big) ifd.writeBigUInt64LE(BigInt(entries.length), 0)
        else ifd.writeUInt16LE(entries.length, 0)
        entries.forEach(([tag, type, count, value], i) => {
          const p = (big ? 8 : 2) + i * entrySize
          ifd.writeUInt16LE(tag, p)
          ifd.writeUInt16LE(type, p + 2)
          const v = p + (big ? 12 : 8)
          if (big) ifd.writeBigUInt64LE(BigInt(count), p + 4)
          else ifd.writeUInt32LE(count, p + 4)
          if (Buffer.isBuffer(value)) value.copy(ifd, v)
          else if (type === 3 && count === 1) ifd.writeUInt16LE(value, v)
          else if (big && (type === 16 || (type === 4 && count === 1))) ifd.writeBigUInt64LE(BigInt(value), v)
          else ifd.writeUInt32LE(value, v)
        })
        const ifdAt = pos
        yield* put(ifd, ifdAt)
        pos += ifd.length
        const pointer = Buffer.alloc(big ? 8 : 4)
        if (big) pointer.writeBigUInt64LE(BigInt(ifdAt))
        else pointer.writeUInt32LE(ifdAt)
        yield* put(pointer, nextPointer)
        nextPointer = ifdAt + ifd.length - (big ? 8 : 4)
      }
    })
  )

/** Writes each slice as its own single-page TIFF: `slice_00000.tif`, … */
export const writeTiffDirectory = <E>(
  dir: string,
  options: TiffWriteOptions,
  produce: (z: number) => Effect.Effect<VoxelArray, E>
): Effect.Effect<void, E | InputError> =>
  Effect.forEach(
    Array.from({ length: options.dims[0] }, (_, z) => z),
    (z) =>
      writeTiff(join(dir, `slice_${String(z).padStart(5, "0")}.tif`), { ...options, dims: [1, options.dims[1], options.dims[2]] }, () =>
        produce(z)
      ),
    { discard: true }
  )
