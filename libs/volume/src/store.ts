import { Effect, Schema, Scope } from "effect"
import {
  closeSync,
  copyFileSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  writeFileSync,
  writeSync
} from "node:fs"
import { join, resolve } from "node:path"
import { decodeArtifactIndex, InputError, INDEX_FILE, MANIFEST_FILE, VolumeSetIndex, type VolumeEntry } from "@tomoprior/core"
import { allocate, bytesPerVoxel, type Dtype, type LabelArray, type LabelDtype, type VoxelArray } from "./dtype.ts"
import { LABELS_FILE, VOLUME_HEADER_FILE, VolumeHeader, VOXELS_FILE } from "./header.ts"
import type { Affine, AxisCodes } from "./orientation.ts"
import type { Dims } from "./source.ts"
import { StatsAccumulator } from "./stats.ts"

/** Everything about a volume except what is computed while writing it (stats, label ids). */
export interface VolumeInit {
  readonly dims: Dims
  readonly spacing: readonly [number, number, number]
  readonly dtype: Dtype
  readonly affine: Affine
  readonly axisCodes: AxisCodes
  readonly source: string
  /** Set when the producer yields labels. */
  readonly labelDtype?: LabelDtype | null
}

export interface SliceData {
  readonly voxels: VoxelArray
  readonly labels?: LabelArray
}

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength)

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** A file descriptor that is closed when the scope closes. */
export const openFd = (file: string, flags: "r" | "w") =>
  Effect.acquireRelease(
    Effect.try({
      try: () => openSync(file, flags),
      catch: (e) => new InputError({ file, problem: `cannot open: ${errorText(e)}` })
    }),
    (fd) => Effect.sync(() => closeSync(fd))
  )

const writeAll = (fd: number, file: string, bytes: Buffer, position: number) =>
  Effect.try({
    try: () => {
      let done = 0
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done)
    },
    catch: (e) => new InputError({ file, problem: `cannot write: ${errorText(e)}` })
  })

/**
 * Writes a stored volume slice by slice: `produce(z)` is asked for slices 0..Z-1 in order and its
 * arrays may be reused between calls. `volume.json` is written last, so a directory without it is
 * an interrupted write.
 */
export const writeVolume = <E, R = never>(
  dir: string,
  init: VolumeInit,
  produce: (z: number) => Effect.Effect<SliceData, E, R>
): Effect.Effect<VolumeHeader, E | InputError, R> =>
  Effect.scoped(
    Effect.gen(function* () {
      yield* Effect.try({
        try: () => mkdirSync(dir, { recursive: true }),
        catch: (e) => new InputError({ file: dir, problem: `cannot create directory: ${errorText(e)}` })
      })
      const [Z, Y, X] = init.dims
      const n = Y * X
      const withLabels = init.labelDtype != null
      const voxFile = join(dir, VOXELS_FILE)
      const labFile = join(dir, LABELS_FILE)
      const voxFd = yield* openFd(voxFile, "w")
      const labFd = withLabels ? yield* openFd(labFile, "w") : -1
      const stats = new StatsAccumulator()
      const seen = new Uint8Array(65536)
      const voxBytes = n * bytesPerVoxel(init.dtype)
      const labBytes = n * (init.labelDtype === "uint16" ? 2 : 1)
      for (let z = 0; z < Z; z++) {
        const slice = yield* produce(z)
        if (slice.voxels.length < n)
          return yield* new InputError({ file: init.source, problem: `slice ${z} has ${slice.voxels.length} voxels, expected ${n}` })
        stats.add(slice.voxels, n)
        yield* writeAll(voxFd, voxFile, bytesOf(slice.voxels).subarray(0, voxBytes), z * voxBytes)
        if (withLabels) {
          const labels = slice.labels
          if (!labels || labels.length < n) return yield* new InputError({ file: init.source, problem: `labels missing for slice ${z}` })
          for (let i = 0; i < n; i++) seen[labels[i]] = 1
          yield* writeAll(labFd, labFile, bytesOf(labels).subarray(0, labBytes), z * labBytes)
        }
      }
      const labelIds: Array<number> = []
      if (withLabels) for (let i = 0; i < seen.length; i++) if (seen[i]) labelIds.push(i)
      const header: VolumeHeader = {
        format: "tomoprior-volume",
        version: 1,
        dims: [Z, Y, X],
        spacing: [init.spacing[0], init.spacing[1], init.spacing[2]],
        dtype: init.dtype,
        affine: init.affine.map((r) => [...r]),
        axisCodes: [init.axisCodes[0], init.axisCodes[1], init.axisCodes[2]],
        source: init.source,
        stats: stats.result(),
        hasLabels: withLabels,
        labelDtype: init.labelDtype ?? null,
        labelIds
      }
      yield* Effect.try({
        try: () => writeFileSync(join(dir, VOLUME_HEADER_FILE), JSON.stringify(Schema.encodeSync(VolumeHeader)(header), null, 1)),
        catch: (e) => new InputError({ file: dir, problem: `cannot write header: ${errorText(e)}` })
      })
      return header
    })
  )

export type Axis = "z" | "y" | "x"

/** An open stored volume. Reads are synchronous positioned reads (training loops call them per slice). */
export interface VolumeHandle {
  readonly dir: string
  readonly header: VolumeHeader
  /** Slice z as float32, one positioned read; `out` is reused when given. */
  readonly readSlice: (z: number, out?: Float32Array) => Float32Array
  /** Slice z in the stored dtype. */
  readonly readRawSlice: (z: number, out?: VoxelArray) => VoxelArray
  readonly readLabelSlice: (z: number, out?: LabelArray) => LabelArray
  /**
   * A plane through the volume: "z" → [y, x], "y" → [z, x], "x" → [z, y] (row-major). The y and x
   * planes are gathered from one read per z.
   */
  readonly readSliceAlong: (axis: Axis, index: number, out?: Float32Array) => Float32Array
}

const readExactly = (fd: number, file: string, into: Buffer, position: number): void => {
  let done = 0
  while (done < into.length) {
    const got = readSync(fd, into, done, into.length - done, position + done)
    if (got === 0) throw new InputError({ file, problem: `unexpected end of file at byte ${position + done}` })
    done += got
  }
}

const checkIndex = (file: string, what: string, index: number, size: number): void => {
  if (!Number.isInteger(index) || index < 0 || index >= size)
    throw new InputError({ file, problem: `${what} index ${index} out of range 0..${size - 1}` })
}

export const readVolumeHeader = (dir: string): Effect.Effect<VolumeHeader, InputError> => {
  const file = join(dir, VOLUME_HEADER_FILE)
  return Effect.try({
    try: () => JSON.parse(readFileSync(file, "utf8")) as unknown,
    catch: (e) => new InputError({ file, problem: `cannot read volume header: ${errorText(e)}` })
  }).pipe(
    Effect.flatMap((json) =>
      Schema.decodeUnknownEffect(VolumeHeader)(json).pipe(
        Effect.mapError((e) => new InputError({ file, problem: `invalid volume header: ${e.message}` }))
      )
    )
  )
}

/**
 * Opens a stored volume for reading; the file handles close with the scope. Sizes are checked
 * against the header up front, so later reads cannot run off the end.
 */
export const openVolume = (dir: string): Effect.Effect<VolumeHandle, InputError, Scope.Scope> =>
  Effect.gen(function* () {
    const header = yield* readVolumeHeader(dir)
    const [Z, Y, X] = header.dims
    const n = Y * X
    const bpv = bytesPerVoxel(header.dtype)
    const voxFile = join(dir, VOXELS_FILE)
    const labFile = join(dir, LABELS_FILE)
    const voxFd = yield* openFd(voxFile, "r")
    const expectSize = (fd: number, file: string, bytes: number) =>
      fstatSync(fd).size === bytes
        ? Effect.void
        : Effect.fail(new InputError({ file, problem: `size ${fstatSync(fd).size} bytes, header says ${bytes}` }))
    yield* expectSize(voxFd, voxFile, Z * n * bpv)
    const labBpv = header.labelDtype === "uint16" ? 2 : 1
    const labFd = header.hasLabels ? yield* openFd(labFile, "r") : -1
    if (header.hasLabels) yield* expectSize(labFd, labFile, Z * n * labBpv)
    const raw = allocate(header.dtype, n)
    const rawBytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)

    const readRawSlice = (z: number, out?: VoxelArray): VoxelArray => {
      checkIndex(voxFile, "slice", z, Z)
      const target = out ?? allocate(header.dtype, n)
      readExactly(voxFd, voxFile, Buffer.from(target.buffer, target.byteOffset, n * bpv), z * n * bpv)
      return target
    }
    const readSlice = (z: number, out?: Float32Array): Float32Array => {
      checkIndex(voxFile, "slice", z, Z)
      const target = out ?? new Float32Array(n)
      if (header.dtype === "float32") return readRawSlice(z, target) as Float32Array
      readExactly(voxFd, voxFile, rawBytes, z * n * bpv)
      target.set(raw)
      return target
    }
    const readLabelSlice = (z: number, out?: LabelArray): LabelArray => {
      if (!header.hasLabels) throw new InputError({ file: dir, problem: "volume has no labels" })
      checkIndex(labFile, "slice", z, Z)
      const target = out ?? (labBpv === 2 ? new Uint16Array(n) : new Uint8Array(n))
      if (target.BYTES_PER_ELEMENT !== labBpv) throw new InputError({ file: labFile, problem: `labels are ${header.labelDtype}` })
      readExactly(labFd, labFile, Buffer.from(target.buffer, target.byteOffset, n * labBpv), z * n * labBpv)
      return target
    }
    const readSliceAlong = (axis: Axis, index: number, out?: Float32Array): Float32Array => {
      if (axis === "z") return readSlice(index, out)
      const size = axis === "y" ? Y : X
      checkIndex(voxFile, axis, index, size)
      const width = axis === "y" ? X : Y
      const target = out ?? new Float32Array(Z * width)
      for (let z = 0; z < Z; z++) {
        if (axis === "y") {
          const row = rawBytes.subarray(0, X * bpv)
          readExactly(voxFd, voxFile, row, (z * n + index * X) * bpv)
          target.set(raw.subarray(0, X), z * X)
        } else {
          readExactly(voxFd, voxFile, rawBytes, z * n * bpv)
          for (let y = 0; y < Y; y++) target[z * Y + y] = raw[y * X + index]
        }
      }
      return target
    }
    return { dir, header, readSlice, readRawSlice, readLabelSlice, readSliceAlong }
  })

export interface ResolvedVolumeSet {
  readonly index: VolumeSetIndex
  /** Absolute volume directories, in index order. */
  readonly volumes: ReadonlyArray<{ readonly entry: VolumeEntry; readonly dir: string }>
}

/** The volume directories of a VolumeSet artifact whose index is already read. */
export const resolveVolumeSet = (artifactDir: string, index: VolumeSetIndex): ResolvedVolumeSet => ({
  index,
  volumes: index.volumes.map((entry) => ({ entry, dir: resolve(artifactDir, entry.path) }))
})

/** Reads a VolumeSet's index (in a stage, prefer `ctx.readIndex` + `resolveVolumeSet`). */
export const readVolumeSet = (artifactDir: string): Effect.Effect<ResolvedVolumeSet, InputError> => {
  const file = join(artifactDir, INDEX_FILE)
  return Effect.try({
    try: () => readFileSync(file, "utf8"),
    catch: (e) => new InputError({ file, problem: `cannot read the VolumeSet index: ${errorText(e)}` })
  }).pipe(
    Effect.flatMap((text) => decodeArtifactIndex("VolumeSet", file, text)),
    Effect.map((index) => resolveVolumeSet(artifactDir, index))
  )
}

export const writeVolumeSetIndex = (
  artifactDir: string,
  volumes: ReadonlyArray<VolumeEntry>,
  labelNames: Readonly<Record<string, string>>
): Effect.Effect<void, InputError> => {
  const file = join(artifactDir, INDEX_FILE)
  const index: VolumeSetIndex = { kind: "VolumeSet", volumes, labelNames }
  return Effect.try({
    try: () => writeFileSync(file, JSON.stringify(Schema.encodeSync(VolumeSetIndex)(index), null, 1)),
    catch: (e) => new InputError({ file, problem: `cannot write VolumeSet index: ${errorText(e)}` })
  })
}

/** The index entry for a volume written under `artifactDir/path`. */
export const volumeEntry = (id: string, path: string, header: VolumeHeader): VolumeEntry => ({
  id,
  path,
  dims: header.dims,
  spacing: header.spacing,
  hasLabels: header.hasLabels,
  source: header.source
})

const isCrossDevice = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  return code === "EXDEV" || code === "EPERM" || code === "ENOTSUP"
}

/**
 * Recreates the artifact `srcDir` under `dstDir` with every file hard-linked (copied where the file
 * system refuses links, e.g. across devices). Artifacts are immutable, so sharing inodes is safe.
 * Its manifest stays behind: it records when and by which run the input was made, not what it holds.
 */
export const linkArtifactTree = (srcDir: string, dstDir: string): Effect.Effect<void, InputError> =>
  Effect.try({
    try: () => {
      const walk = (src: string, dst: string) => {
        mkdirSync(dst, { recursive: true })
        for (const e of readdirSync(src, { withFileTypes: true })) {
          if (src === srcDir && e.name === MANIFEST_FILE) continue
          const s = join(src, e.name)
          const d = join(dst, e.name)
          if (e.isDirectory()) walk(s, d)
          else {
            try {
              linkSync(s, d)
            } catch (err) {
              if (!isCrossDevice(err)) throw err
              copyFileSync(s, d)
            }
          }
        }
      }
      walk(srcDir, dstDir)
    },
    catch: (e) => new InputError({ file: srcDir, problem: `cannot link into ${dstDir}: ${errorText(e)}` })
  })
