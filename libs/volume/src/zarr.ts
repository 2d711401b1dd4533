import { Effect, Scope } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import FileSystemStore from "@zarrita/storage/fs"
import * as zarr from "zarrita"
import { InputError } from "@tomoprior/core"
import { RAW_SAMPLES, type RawSample } from "./dtype.ts"
import { chunkedSource } from "./slab.ts"
import type { VolumeSource } from "./source.ts"

/**
 * Zarr v2 and v3 stores (and OME-Zarr multiscale images) through zarrita: chunk reads from the
 * file system, its codecs (gzip, zlib, blosc, zstd, lz4, sharding, …), missing chunks read as the
 * array's fill value. The last three axes are z, y, x; leading axes (OME's t and c) must be size 1.
 */

export interface ZarrOptions {
  /** Multiscale level of an OME-Zarr image (0 = full resolution). */
  readonly level?: number
  /** [z, y, x] spacing in mm; an OME-Zarr's own scale is used when this is absent. */
  readonly spacing?: readonly [number, number, number]
}

const SAMPLES: Readonly<Record<string, RawSample>> = {
  uint8: RAW_SAMPLES.uint8,
  int8: RAW_SAMPLES.int8,
  uint16: RAW_SAMPLES.uint16,
  int16: RAW_SAMPLES.int16,
  uint32: RAW_SAMPLES.uint32,
  int32: RAW_SAMPLES.int32,
  float32: RAW_SAMPLES.float32,
  float64: RAW_SAMPLES.float64
}

/** OME-NGFF unit names → mm. */
const UNIT_MM: Readonly<Record<string, number>> = {
  meter: 1000,
  centimeter: 10,
  millimeter: 1,
  micrometer: 1e-3,
  nanometer: 1e-6,
  angstrom: 1e-7
}

/** Marks a directory as a Zarr store (array or group, v2 or v3). */
export const isZarrDirectory = (dir: string): boolean => [".zarray", ".zgroup", "zarr.json"].some((name) => existsSync(join(dir, name)))

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))

interface Multiscale {
  readonly axes?: ReadonlyArray<string | { readonly name: string; readonly type?: string; readonly unit?: string }>
  readonly datasets: ReadonlyArray<{ readonly path: string; readonly coordinateTransformations?: ReadonlyArray<Transform> }>
  readonly coordinateTransformations?: ReadonlyArray<Transform>
}
interface Transform {
  readonly type: string
  readonly scale?: ReadonlyArray<number>
}

const multiscalesOf = (attrs: Record<string, unknown>): ReadonlyArray<Multiscale> | undefined => {
  const ome = attrs.ome as { multiscales?: ReadonlyArray<Multiscale> } | undefined
  return ome?.multiscales ?? (attrs.multiscales as ReadonlyArray<Multiscale> | undefined)
}

/** Physical size of one voxel along the last three axes, in mm, from the OME scale transforms. */
const omeSpacing = (ms: Multiscale, level: number, rank: number): [number, number, number] | undefined => {
  const scale = new Array<number>(rank).fill(1)
  let found = false
  for (const t of [...(ms.datasets[level].coordinateTransformations ?? []), ...(ms.coordinateTransformations ?? [])])
    if (t.type === "scale" && t.scale?.length === rank) {
      t.scale.forEach((s, i) => (scale[i] *= s))
      found = true
    }
  if (!found) return undefined
  const factor = (i: number) => {
    const axis = ms.axes?.[i]
    const unit = typeof axis === "object" ? axis.unit : undefined
    return unit ? (UNIT_MM[unit] ?? 1) : 1
  }
  return [rank - 3, rank - 2, rank - 1].map((i) => scale[i] * factor(i)) as [number, number, number]
}

const METADATA_KEY = /(^|\/)(\.zarray|\.zattrs|\.zgroup|zarr\.json)$/

/**
 * c-blosc's decompressor trusts the compressed size in a chunk's header, so a truncated Blosc
 * chunk decodes to garbage without an error. This store checks that size against the chunk's
 * length for the arrays marked as Blosc-compressed.
 */
class CheckedStore extends FileSystemStore {
  readonly bloscArrays = new Set<string>()
  override async get(key: `/${string}`, opts?: Parameters<FileSystemStore["get"]>[1]): Promise<Uint8Array | undefined> {
    const bytes = await super.get(key, opts)
    if (bytes && !METADATA_KEY.test(key) && [...this.bloscArrays].some((p) => key.startsWith(p))) {
      const stated = bytes.length >= 16 ? new DataView(bytes.buffer, bytes.byteOffset, 16).getUint32(12, true) : -1
      if (stated !== bytes.length)
        throw new Error(`chunk ${key} holds ${bytes.length} bytes but its Blosc header says ${stated} (truncated or overwritten chunk)`)
    }
    return bytes
  }
}

/** Whether the array stored under `dir` compresses its chunks with Blosc (v2 compressor or a v3 codec). */
const usesBlosc = (dir: string): boolean => {
  const read = (name: string) =>
    existsSync(join(dir, name)) ? (JSON.parse(readFileSync(join(dir, name), "utf8")) as Record<string, unknown>) : undefined
  const v2 = read(".zarray")
  if (v2) return (v2.compressor as { id?: string } | null)?.id === "blosc"
  const codecs = (read("zarr.json")?.codecs ?? []) as ReadonlyArray<{ name?: string }>
  return codecs.some((c) => c.name === "blosc")
}

const openArray = (store: CheckedStore, dir: string, path: string) => {
  const prefix = path.replace(/^\/*/, "/").replace(/\/*$/, "/")
  if (usesBlosc(join(dir, path))) store.bloscArrays.add(prefix)
  return zarr.open(zarr.root(store).resolve(path), { kind: "array" }) as Promise<zarr.Array<zarr.DataType, CheckedStore>>
}

/** Opens a Zarr array, or level `level` of an OME-Zarr multiscale group, as a volume source. */
export const readZarr = (path: string, options: ZarrOptions = {}): Effect.Effect<VolumeSource, InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = resolve(path)
    const fail = (problem: string) => new InputError({ file: dir, problem })
    const store = new CheckedStore(dir)
    const node = yield* Effect.tryPromise({
      try: () => zarr.open(zarr.root(store)),
      catch: (e) => fail(`not a readable Zarr store: ${describe(e)}`)
    })
    let array: zarr.Array<zarr.DataType, CheckedStore>
    let spacing = options.spacing
    let levelNote = ""
    if (node instanceof zarr.Group) {
      const multiscales = multiscalesOf(node.attrs)
      if (!multiscales?.[0]?.datasets?.length)
        return yield* fail("is a Zarr group without OME multiscales metadata; point source: at the array inside it")
      const ms = multiscales[0]
      const level = options.level ?? 0
      if (!(Number.isInteger(level) && level >= 0 && level < ms.datasets.length))
        return yield* fail(`level ${level} does not exist; this image has levels 0..${ms.datasets.length - 1}`)
      const datasetPath = ms.datasets[level].path
      array = yield* Effect.tryPromise({
        try: () => openArray(store, dir, datasetPath),
        catch: (e) => fail(`level ${level} (${datasetPath}) cannot be opened: ${describe(e)}`)
      })
      spacing ??= omeSpacing(ms, level, array.shape.length)
      levelNote = `, level ${level} of ${ms.datasets.length}`
    } else if (options.level !== undefined && options.level !== 0) {
      return yield* fail(`level ${options.level} was asked for, but this is a single Zarr array, not a multiscale image`)
    } else
      array = yield* Effect.tryPromise({
        try: () => openArray(store, dir, ""),
        catch: (e) => fail(`not a readable Zarr array: ${describe(e)}`)
      })
    const shape = array.shape
    if (shape.length < 3)
      return yield* fail(`the array has rank ${shape.length} (shape ${shape.join("×")}); a volume needs 3 axes [z, y, x]`)
    const leading = shape.slice(0, -3)
    if (leading.some((s) => s !== 1))
      return yield* fail(
        `the array's shape is ${shape.join("×")}; axes before the last three (e.g. time, channel) must have size 1 — ` +
          "write one channel and time point per store"
      )
    const sample = SAMPLES[array.dtype]
    if (!sample) return yield* fail(`data type ${array.dtype} is not supported; use 8/16/32-bit integers or 32/64-bit floats`)
    const [Z, Y, X] = shape.slice(-3)
    if (Z < 1 || Y < 1 || X < 1) return yield* fail(`has an empty dimension (shape ${shape.join("×")})`)
    const prefix = leading.map(() => 0)
    return chunkedSource({
      file: dir,
      format: "zarr",
      shape: [Z, Y, X],
      chunkDepth: array.chunks[array.chunks.length - 3],
      sample,
      spacing: spacing ?? [1, 1, 1],
      voxelType: `${array.dtype} (Zarr v${existsSync(join(dir, "zarr.json")) ? 3 : 2}${levelNote})`,
      read: (z0, z1) =>
        Effect.tryPromise({
          try: async () => {
            const chunk = await zarr.get(array, [...prefix, zarr.slice(z0, z1), null, null])
            const [s0, s1, s2] = chunk.stride
            const data = chunk.data as unknown as ArrayLike<number>
            if (s2 === 1 && s1 === X && s0 === X * Y) return data
            // an F-ordered (v2 order "F") array comes back with its own strides: copy to C order
            const out = new Float64Array((z1 - z0) * Y * X)
            let o = 0
            for (let z = 0; z < z1 - z0; z++)
              for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) out[o++] = data[z * s0 + y * s1 + x * s2]
            return out
          },
          catch: (e) => fail(`cannot read slices ${z0}..${z1 - 1}: ${describe(e)} (a corrupt chunk, or a codec that is not installed?)`)
        })
    })
  })
