import { Effect, Scope } from "effect"
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs"
import { resolve } from "node:path"
import * as h5wasm from "h5wasm/node"
import { install_local_plugins } from "h5wasm-plugins"
import { InputError } from "@tomoprior/core"
import { RAW_SAMPLES, type RawSample } from "./dtype.ts"
import { chunkedSource } from "./slab.ts"
import type { VolumeSource } from "./source.ts"

/**
 * HDF5 through h5wasm (the HDF5 C library compiled to WebAssembly, reading the host file system
 * directly, so a file is never loaded whole) and h5wasm-plugins for the filters HDF5 does not
 * build in (LZF, Blosc, Zstd, LZ4, Bzip2, bitshuffle). The default dataset is DXchange's
 * `/exchange/data`; its first axis is the slice axis.
 */

export interface Hdf5Options {
  /** Dataset path inside the file. */
  readonly dataset?: string
  /** [z, y, x] spacing in mm (HDF5 has no standard for it). */
  readonly spacing?: readonly [number, number, number]
}

export const DEFAULT_HDF5_DATASET = "/exchange/data"

/** Filters h5wasm decodes: built in (deflate, shuffle, fletcher32, szip, scaleoffset, nbit) and from h5wasm-plugins. */
const READABLE_FILTERS = new Set([1, 2, 3, 4, 5, 6, 307, 32000, 32001, 32004, 32008, 32015, 32026])

const H5T_INTEGER = 0
const H5T_FLOAT = 1

let ready: Promise<unknown> | undefined
const h5 = () =>
  (ready ??= h5wasm.ready.then((module) => {
    install_local_plugins(module)
    return module
  }))

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

const sampleOf = (m: h5wasm.Dataset["metadata"]): RawSample | undefined => {
  if (m.type === H5T_FLOAT) return m.size === 4 ? RAW_SAMPLES.float32 : m.size === 8 ? RAW_SAMPLES.float64 : undefined
  if (m.type !== H5T_INTEGER) return undefined
  const key = `${m.signed ? "int" : "uint"}${m.size * 8}` as keyof typeof RAW_SAMPLES
  return m.size <= 4 ? RAW_SAMPLES[key] : undefined
}

/**
 * Finds the superblock (at byte 0, or after a user block of 512, 1024, … bytes) and the file length
 * it records. A file shorter than that was cut short: HDF5 itself only notices when it reaches a
 * missing object, and then reports the object as absent. Undefined when there is no signature.
 */
const superblock = (file: string): { readonly end: number | undefined } | undefined => {
  const fd = openSync(file, "r")
  try {
    const size = fstatSync(fd).size
    const b = Buffer.alloc(64)
    for (let base = 0; base === 0 || base + 64 <= size; base = base === 0 ? 512 : base * 2) {
      if (readSync(fd, b, 0, 64, base) < 48 || !b.subarray(0, 8).equals(HDF5_SIGNATURE)) continue
      const version = b[8]
      const offsets = version <= 1 ? b[13] : b[9]
      if (offsets !== 8) return { end: undefined }
      const at = version <= 1 ? 24 + 2 * offsets + (version === 1 ? 4 : 0) : 12 + 2 * offsets
      return { end: base + Number(b.readBigUInt64LE(at)) }
    }
    return undefined
  } finally {
    closeSync(fd)
  }
}

export const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])

const TYPE_CLASSES = [
  "integer",
  "float",
  "time",
  "string",
  "bitfield",
  "opaque",
  "compound",
  "reference",
  "enum",
  "variable-length",
  "array"
]

/** Opens a dataset of an HDF5 file as a volume source (closed with the scope). */
export const readHdf5 = (path: string, options: Hdf5Options = {}): Effect.Effect<VolumeSource, InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const file = resolve(path)
    const name = options.dataset ?? DEFAULT_HDF5_DATASET
    const fail = (problem: string) => new InputError({ file, problem })
    const found = yield* Effect.try({ try: () => superblock(file), catch: (e) => fail(`cannot read: ${describe(e)}`) })
    if (!found) return yield* fail("cannot open as HDF5: no HDF5 signature (not an HDF5 file?)")
    const size = statSync(file).size
    if (found.end !== undefined && found.end > size)
      return yield* fail(`truncated: the HDF5 superblock says the file ends at byte ${found.end}, but it has ${size} bytes; copy it again`)
    yield* Effect.promise(h5)
    const f = yield* Effect.acquireRelease(
      Effect.try({
        try: () => new h5wasm.File(file, "r"),
        catch: (e) => fail(`cannot open as HDF5: ${describe(e)} (not an HDF5 file, or truncated?)`)
      }),
      (f) => Effect.sync(() => f.close())
    )
    const entry = yield* Effect.try({ try: () => f.get(name), catch: (e) => fail(`cannot read ${name}: ${describe(e)}`) })
    if (!(entry instanceof h5wasm.Dataset)) {
      const datasets: Array<string> = []
      const walk = (g: h5wasm.Group, prefix: string) => {
        for (const key of g.keys()) {
          const child = g.get(key)
          if (child instanceof h5wasm.Dataset && (child.shape?.length ?? 0) >= 2)
            datasets.push(`${prefix}/${key} ${child.shape?.join("×")}`)
          else if (child instanceof h5wasm.Group && datasets.length < 20) walk(child, `${prefix}/${key}`)
        }
      }
      yield* Effect.try({ try: () => walk(f, ""), catch: () => undefined }).pipe(Effect.ignore)
      return yield* fail(
        `${entry ? `${name} is a group, not a dataset` : `no dataset ${name}`}; set dataset: to one of ` +
          (datasets.length > 0 ? datasets.join(", ") : "(the file holds no dataset of rank ≥ 2)")
      )
    }
    const m = entry.metadata
    const shape = m.shape ?? []
    if (shape.length !== 3)
      return yield* fail(
        `dataset ${name} has rank ${shape.length} (shape ${shape.join("×") || "scalar"}); a volume needs rank 3 [z, y, x]` +
          (shape.length === 2 ? " — this is a single image; stack the slices into one 3-D dataset" : "")
      )
    if (shape.some((s) => s < 1)) return yield* fail(`dataset ${name} has an empty dimension (shape ${shape.join("×")})`)
    const sample = sampleOf(m)
    if (!sample)
      return yield* fail(
        `dataset ${name} holds ${m.size * 8}-bit ${TYPE_CLASSES[m.type] ?? `class ${m.type}`} values; ` +
          "supported are 8/16/32-bit integers and 32/64-bit floats"
      )
    const filters = entry.filters
    const unreadable = filters.filter((x) => !READABLE_FILTERS.has(x.id))
    if (unreadable.length > 0)
      return yield* fail(
        `dataset ${name} is compressed with filter ${unreadable.map((x) => `${x.name || "unnamed"} (id ${x.id})`).join(", ")}, ` +
          "which no installed decoder reads; rewrite it with gzip, lzf, blosc or zstd (e.g. h5repack -f GZIP=4)"
      )
    const [Z, Y, X] = shape
    const compression = filters.map((x) => x.name).join(", ")
    return chunkedSource({
      file,
      format: "hdf5",
      shape: [Z, Y, X],
      chunkDepth: m.chunks?.[0] ?? 1,
      sample,
      spacing: options.spacing ?? [1, 1, 1],
      voxelType: `${sample.name}${m.size > 1 ? (m.littleEndian ? " LE" : " BE") : ""}` + (compression ? ` (${compression})` : ""),
      read: (z0, z1) =>
        Effect.try({
          try: () => {
            const data = entry.slice([[z0, z1]])
            if (!data || !ArrayBuffer.isView(data) || (data as ArrayLike<number>).length !== (z1 - z0) * Y * X)
              throw new Error(`read ${(data as ArrayLike<number> | null)?.length ?? 0} values, expected ${(z1 - z0) * Y * X}`)
            return data as ArrayLike<number>
          },
          catch: (e) => fail(`cannot read slices ${z0}..${z1 - 1} of ${name}: ${describe(e)} (corrupt or truncated file?)`)
        })
    })
  })
