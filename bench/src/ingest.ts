/**
 * `tomoprior bench ingest` (issues 3 and 13): ingest + normalize of large uint16 stacks against
 * plain fs reads of the same bytes, one section per format (`--only tiff|hdf5|zarr`): an
 * uncompressed BigTIFF, a DXchange-style HDF5 file (`/exchange/data`, chunked) and a Zarr v3 array
 * (chunked), each written by the bench itself (geotiff-style writer, h5wasm, zarrita) one slab at a
 * time. Default: 2048×2048×1000 (~8.4 GB each, in a temp dir deleted after its section); --quick:
 * 1024×1024×48. The stages run in a child process so its peak RSS (process.resourceUsage().maxRSS,
 * i.e. VmHWM) is the pipeline's alone: with the volume ~8 GB and the stages reading one slice (TIFF)
 * or one chunk row (HDF5, Zarr) at a time, it shows whether memory stays bounded; the parent also
 * samples the child's high-water mark, so `ingest_rss_growth_after_first_quarter` (≈ 1 when bounded) says
 * whether anything grew while the last three quarters of the volume streamed through.
 *
 * The stack is written just before it is read, so part of it may still be in the page cache; the
 * fs baselines run right before the stages on the same files, so all see the same regime and the
 * ratios are the meaningful numbers on this shared machine. Ingest reads AND stores every byte, so
 * besides plain reads (`fs_read_mb_s`, the baseline) a plain fs copy (`fs_copy_mb_s`) is
 * measured: it is the ceiling ingest can reach when the disk's write speed is the limit. */
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Bench, BenchOptions } from "./contract.ts"

const CHILD_FLAG = "--ingest-bench-child"

interface ChildResult {
  readonly ingestSeconds: number
  readonly normalizeSeconds: number
  /** CPU time (user + system) of each stage: on a contended machine, wall time / CPU time shows the wait. */
  readonly ingestCpuSeconds: number
  readonly normalizeCpuSeconds: number
  readonly maxRssMb: number
  /** When ingest started and ended (Date.now()): the parent's RSS samples of the child are placed by them. */
  readonly ingestStart: number
  readonly ingestEnd: number
  readonly storedBytes: number
}

/** The test pattern: cheap, deterministic, 12-bit, different on every slice. */
const fillSlice = (page: Uint16Array, z: number, offset = 0, length = page.length - offset) => {
  for (let i = 0; i < length; i++) page[offset + i] = (i * 31 + z * 977) & 0x0fff
}

/** Chunk shape of the HDF5 and Zarr volumes: 16 slices × 256² tiles, as reconstructions are often stored. */
const CHUNK = [16, 256, 256] as const

/** A volume written for one section: the path ingest is given, and the files holding its bytes. */
interface Written {
  readonly source: string
  readonly files: ReadonlyArray<string>
  readonly layout: string
}

/** An uncompressed uint16 BigTIFF stack, one page at a time. */
const writeTiffStack = async (dir: string, size: number, slices: number): Promise<Written> => {
  const { writeTiff } = await import("@tomoprior/volume")
  const file = join(dir, "stack.tif")
  const page = new Uint16Array(size * size)
  await Effect.runPromise(
    writeTiff(file, { dims: [slices, size, size], dtype: "uint16", compression: "none" }, (z) =>
      Effect.sync(() => {
        fillSlice(page, z)
        return page
      })
    )
  )
  return { source: file, files: [file], layout: "BigTIFF, one strip set per page" }
}

/**
 * A DXchange-style HDF5 file (`/exchange/data`, uint16, chunked, uncompressed) through h5wasm:
 * the dataset grows one chunk row at a time, so writing holds one slab, never the volume.
 */
const writeHdf5Stack = async (dir: string, size: number, slices: number): Promise<Written> => {
  const h5wasm = await import("h5wasm/node")
  await h5wasm.ready
  const file = join(dir, "stack.h5")
  const f = new h5wasm.File(file, "w")
  try {
    f.create_group("exchange")
    const chunks = [CHUNK[0], Math.min(CHUNK[1], size), Math.min(CHUNK[2], size)]
    const data = f.create_dataset({
      name: "/exchange/data",
      data: new Uint16Array(0),
      shape: [0, size, size],
      maxshape: [null, size, size],
      chunks,
      dtype: "<H"
    })
    const plane = size * size
    const slab = new Uint16Array(CHUNK[0] * plane)
    for (let z = 0; z < slices; z += CHUNK[0]) {
      const n = Math.min(CHUNK[0], slices - z)
      for (let k = 0; k < n; k++) fillSlice(slab, z + k, k * plane, plane)
      data.resize([z + n, size, size])
      data.write_slice([[z, z + n], [], []], slab.subarray(0, n * plane))
    }
  } finally {
    f.close()
  }
  return { source: file, files: [file], layout: `HDF5 /exchange/data, chunks ${CHUNK.join("×")}, no filter` }
}

/** A Zarr v3 array (uint16, chunks of CHUNK, the `bytes` codec alone) through zarrita, one chunk row at a time. */
const writeZarrStack = async (dir: string, size: number, slices: number): Promise<Written> => {
  const zarr = await import("zarrita")
  const { default: FileSystemStore } = await import("@zarrita/storage/fs")
  const root = join(dir, "stack.zarr")
  const array = await zarr.create(zarr.root(new FileSystemStore(root)), {
    shape: [slices, size, size],
    chunkShape: [CHUNK[0], Math.min(CHUNK[1], size), Math.min(CHUNK[2], size)],
    dtype: "uint16",
    codecs: [{ name: "bytes", configuration: { endian: "little" } }],
    fillValue: 0
  })
  const plane = size * size
  const slab = new Uint16Array(CHUNK[0] * plane)
  for (let z = 0; z < slices; z += CHUNK[0]) {
    const n = Math.min(CHUNK[0], slices - z)
    for (let k = 0; k < n; k++) fillSlice(slab, z + k, k * plane, plane)
    await zarr.set(array, [zarr.slice(z, z + n), null, null], {
      data: slab.subarray(0, n * plane),
      shape: [n, size, size],
      stride: [plane, size, 1]
    })
  }
  const files = readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
  return { source: root, files, layout: `Zarr v3, chunks ${CHUNK.join("×")}, no compressor, ${files.length} files` }
}

const WRITERS = { tiff: writeTiffStack, hdf5: writeHdf5Stack, zarr: writeZarrStack } as const
type Format = keyof typeof WRITERS

/**
 * Every phase starts with no dirty pages waiting for the disk (sync(1) flushes, it drops nothing
 * from the cache), so no phase pays for the previous one's writes.
 */
const flushDirtyPages = () => void spawnSync("sync")

/** Plain fs reads of every file, 8 MiB chunks into one reused buffer. */
const fsReadSeconds = (files: ReadonlyArray<string>): number => {
  const buffer = Buffer.alloc(8 << 20)
  const t0 = performance.now()
  for (const file of files) {
    const fd = openSync(file, "r")
    try {
      for (let position = 0; ;) {
        const got = readSync(fd, buffer, 0, buffer.length, position)
        if (got === 0) break
        position += got
      }
    } finally {
      closeSync(fd)
    }
  }
  return (performance.now() - t0) / 1000
}

/** Plain fs copy of every file into `target` (8 MiB chunks, no fsync): the ceiling for a stage that must store what it reads. */
const fsCopySeconds = (files: ReadonlyArray<string>, target: string): number => {
  const buffer = Buffer.alloc(8 << 20)
  mkdirSync(target)
  const t0 = performance.now()
  for (const [n, file] of files.entries()) {
    const src = openSync(file, "r")
    const dst = openSync(join(target, String(n)), "w")
    try {
      for (let position = 0; ;) {
        const got = readSync(src, buffer, 0, buffer.length, position)
        if (got === 0) break
        for (let written = 0; written < got;) written += writeSync(dst, buffer, written, got - written, position + written)
        position += got
      }
    } finally {
      closeSync(src)
      closeSync(dst)
    }
  }
  const seconds = (performance.now() - t0) / 1000
  rmSync(target, { recursive: true })
  return seconds
}

/** Child process: ingest the stack, normalize it to 512² float32, report timings and peak RSS. */
const child = async (file: string, outSize: number) => {
  const { runStageForTest } = await import("@tomoprior/testkit")
  const { ingestStage } = await import("@tomoprior/stage-ingest")
  const { normalizeStage } = await import("@tomoprior/stage-normalize")
  const cpu = (since: NodeJS.CpuUsage) => {
    const u = process.cpuUsage(since)
    return (u.user + u.system) / 1e6
  }
  const ingestStart = Date.now()
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const ingested = await Effect.runPromise(runStageForTest(ingestStage, { params: { source: file, spacing: [1, 0.1, 0.1] } }))
  const t1 = performance.now()
  const ingestEnd = Date.now()
  const ingestCpuSeconds = cpu(c0)
  const c1 = process.cpuUsage()
  await Effect.runPromise(
    runStageForTest(normalizeStage, { params: { window: [0, 4095], size: outSize }, inputs: { volumes: ingested.outputs.volumes } })
  )
  const t2 = performance.now()
  const normalizeCpuSeconds = cpu(c1)
  const storedBytes = ingested.outputs.volumes.manifest.files.reduce((s, f) => s + f.size, 0)
  const result: ChildResult = {
    ingestSeconds: (t1 - t0) / 1000,
    normalizeSeconds: (t2 - t1) / 1000,
    ingestCpuSeconds,
    normalizeCpuSeconds,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    ingestStart,
    ingestEnd,
    storedBytes
  }
  process.stdout.write(JSON.stringify(result) + "\n")
}

/**
 * Runs the child (ingest + normalize of `source`) and samples its VmHWM from /proc every 250 ms (the
 * child cannot: HDF5 reads block its event loop); no samples where /proc does not exist.
 */
const runChild = (source: string, outSize: number, dir: string) =>
  new Promise<{ status: number | null; stdout: string; stderr: string; hwm: Array<readonly [number, number]> }>((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), CHILD_FLAG, source, String(outSize)], {
      env: { ...process.env, TMPDIR: dir },
      // tsx resolves from the repository root, wherever the CLI was started
      cwd: fileURLToPath(new URL("../..", import.meta.url))
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => err.push(b))
    const hwm: Array<readonly [number, number]> = []
    const sampler = setInterval(() => {
      try {
        const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1]
        if (kb) hwm.push([Date.now(), Number(kb) / 1024])
      } catch {
        // the child has exited, or there is no /proc
      }
    }, 250)
    child.on("error", (e) => {
      clearInterval(sampler)
      fail(e)
    })
    child.on("close", (status) => {
      clearInterval(sampler)
      done({ status, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), hwm })
    })
  })

/** Metric names: TIFF's as they always were, the others prefixed with their format. */
const metricName = (format: Format, metric: string) => (format === "tiff" ? metric : `${format}_${metric}`)

/** One format: write the stack, time plain reads and a plain copy of its files, then ingest + normalize in a child. */
const section = async (format: Format, { quick, emit, log }: BenchOptions) => {
  const size = quick ? 1024 : 2048
  const slices = quick ? 48 : 1000
  const outSize = quick ? 256 : 512
  const dir = mkdtempSync(join(tmpdir(), `tomoprior-bench-ingest-${format}-`))
  try {
    log(`${format}: writing ${size}×${size}×${slices} uint16 into ${dir}`)
    let t = performance.now()
    const written = await WRITERS[format](dir, size, slices)
    const mb = written.files.reduce((sum, f) => sum + statSync(f).size, 0) / 1e6
    const config = { format, size, slices, dtype: "uint16", layout: written.layout, normalizeTo: outSize }
    const record = (metric: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
      emit({ bench: "ingest", metric: metricName(format, metric), value, unit, config: { ...config, ...extra } })
    log(`${format}: wrote ${mb.toFixed(0)} MB (${written.layout}) in ${((performance.now() - t) / 1000).toFixed(1)} s; plain fs read…`)
    flushDirtyPages()
    const fsSeconds = fsReadSeconds(written.files)
    log(`${format}: fs read ${(mb / fsSeconds).toFixed(0)} MB/s; plain fs copy…`)
    flushDirtyPages()
    const copySeconds = fsCopySeconds(written.files, join(dir, "copy"))
    flushDirtyPages()
    log(`${format}: fs copy ${(mb / copySeconds).toFixed(0)} MB/s; ingest + normalize in a child process…`)
    t = performance.now()
    const run = await runChild(written.source, outSize, dir)
    if (run.status !== 0) throw new Error(`${format} child failed (${run.status}): ${run.stderr.slice(-2000)}`)
    const r = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as ChildResult
    // the child's high-water mark a quarter into ingest (ingest reads at a steady pace: about a quarter of the slices) and at its end
    const hwmAt = (time: number) => run.hwm.findLast(([t]) => t <= time)?.[1]
    const quarterRss = hwmAt(r.ingestStart + (r.ingestEnd - r.ingestStart) / 4)
    const ingestRss = hwmAt(r.ingestEnd)
    const ingestMbS = mb / r.ingestSeconds
    const fsMbS = mb / fsSeconds
    record("ingest_mb_s", ingestMbS, "MB/s")
    record("fs_read_mb_s", fsMbS, "MB/s")
    record("ingest_over_fs_read", ingestMbS / fsMbS, "ratio")
    record("fs_copy_mb_s", mb / copySeconds, "MB/s")
    record("ingest_over_fs_copy", (ingestMbS * copySeconds) / mb, "ratio")
    record("ingest_cpu_mb_s", mb / r.ingestCpuSeconds, "MB per CPU-s")
    record("normalize_mb_s", mb / r.normalizeSeconds, "MB/s")
    record("normalize_cpu_mb_s", mb / r.normalizeCpuSeconds, "MB per CPU-s")
    record("ingest_normalize_mb_s", mb / (r.ingestSeconds + r.normalizeSeconds), "MB/s")
    record("peak_rss_mb", r.maxRssMb, "MB")
    if (quarterRss !== undefined && ingestRss !== undefined) {
      record("ingest_peak_rss_mb_first_quarter", quarterRss, "MB")
      record("ingest_peak_rss_mb", ingestRss, "MB")
      record("ingest_rss_growth_after_first_quarter", ingestRss / quarterRss, "ratio")
    }
    record("stack_mb", mb, "MB", { storedMb: r.storedBytes / 1e6 })
    log(
      `${format} child: ingest ${r.ingestSeconds.toFixed(1)} s (CPU ${r.ingestCpuSeconds.toFixed(1)} s), normalize ` +
        `${r.normalizeSeconds.toFixed(1)} s (CPU ${r.normalizeCpuSeconds.toFixed(1)} s), peak RSS ${r.maxRssMb.toFixed(0)} MB, ` +
        `total wall ${((performance.now() - t) / 1000).toFixed(1)} s`
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const FORMATS = Object.keys(WRITERS) as Array<Format>

const bench: Bench = {
  name: "ingest",
  description: "ingest + normalize of uint16 TIFF, HDF5 and Zarr stacks vs plain fs reads of the same bytes; peak RSS of the stages",
  sections: FORMATS,
  run: async (options) => {
    for (const format of FORMATS) if (options.only === undefined || format.includes(options.only)) await section(format, options)
  }
}

export default bench

if (process.argv[2] === CHILD_FLAG && process.argv[1] === fileURLToPath(import.meta.url))
  await child(process.argv[3], Number(process.argv[4]))
