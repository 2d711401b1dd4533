/**
 * `tomoprior bench ingest` (issue 3): ingest + normalize of a large uint16 TIFF stack, against
 * plain fs reads of the same bytes. Default: 2048×2048×1000 (~8 GB, BigTIFF, uncompressed, in a
 * temp dir deleted afterwards); --quick: 1024×1024×48. The stages run in a child process so its
 * peak RSS (process.resourceUsage().maxRSS, i.e. VmHWM) is the pipeline's alone.
 *
 * The stack is written just before it is read, so part of it may still be in the page cache; the
 * fs baselines run right before the stages on the same file, so all see the same regime and the
 * ratios are the meaningful numbers on this shared machine. Ingest reads AND stores every byte, so
 * besides plain reads (`fs_read_mb_s`, the baseline) a plain fs copy (`fs_copy_mb_s`) is
 * measured: it is the ceiling ingest can reach when the disk's write speed is the limit.
 */
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Bench } from "./contract.ts"

const CHILD_FLAG = "--ingest-bench-child"

interface ChildResult {
  readonly ingestSeconds: number
  readonly normalizeSeconds: number
  /** CPU time (user + system) of each stage: on a contended machine, wall time / CPU time shows the wait. */
  readonly ingestCpuSeconds: number
  readonly normalizeCpuSeconds: number
  readonly maxRssMb: number
  readonly storedBytes: number
}

/** Writes the test stack: a cheap deterministic pattern, one page at a time. */
const writeStack = async (file: string, size: number, slices: number) => {
  const { writeTiff } = await import("@tomoprior/volume")
  const page = new Uint16Array(size * size)
  await Effect.runPromise(
    writeTiff(file, { dims: [slices, size, size], dtype: "uint16", compression: "none" }, (z) =>
      Effect.sync(() => {
        for (let i = 0; i < page.length; i++) page[i] = (i * 31 + z * 977) & 0x0fff
        return page
      })
    )
  )
}

/**
 * Every phase starts with no dirty pages waiting for the disk (sync(1) flushes, it drops nothing
 * from the cache), so no phase pays for the previous one's writes.
 */
const flushDirtyPages = () => void spawnSync("sync")

/** Plain fs reads of the whole file in 8 MiB chunks into one reused buffer. */
const fsReadSeconds = (file: string): number => {
  const buffer = Buffer.alloc(8 << 20)
  const fd = openSync(file, "r")
  const t0 = performance.now()
  try {
    let position = 0
    for (;;) {
      const got = readSync(fd, buffer, 0, buffer.length, position)
      if (got === 0) break
      position += got
    }
  } finally {
    closeSync(fd)
  }
  return (performance.now() - t0) / 1000
}

/** Plain fs copy of the file (8 MiB chunks, no fsync): the ceiling for a stage that must store what it reads. */
const fsCopySeconds = (file: string, target: string): number => {
  const buffer = Buffer.alloc(8 << 20)
  const src = openSync(file, "r")
  const dst = openSync(target, "w")
  const t0 = performance.now()
  try {
    let position = 0
    for (;;) {
      const got = readSync(src, buffer, 0, buffer.length, position)
      if (got === 0) break
      let written = 0
      while (written < got) written += writeSync(dst, buffer, written, got - written, position + written)
      position += got
    }
  } finally {
    closeSync(src)
    closeSync(dst)
  }
  const seconds = (performance.now() - t0) / 1000
  rmSync(target)
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
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const ingested = await Effect.runPromise(runStageForTest(ingestStage, { params: { source: file, spacing: [1, 0.1, 0.1] } }))
  const t1 = performance.now()
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
    storedBytes
  }
  process.stdout.write(JSON.stringify(result) + "\n")
}

const bench: Bench = {
  name: "ingest",
  description: "ingest + normalize of a uint16 TIFF stack vs plain fs reads; peak RSS of the stages",
  run: async ({ quick, emit, log }) => {
    const size = quick ? 1024 : 2048
    const slices = quick ? 48 : 1000
    const outSize = quick ? 256 : 512
    const dir = mkdtempSync(join(tmpdir(), "tomoprior-bench-ingest-"))
    const config = { size, slices, dtype: "uint16", compression: "none", normalizeTo: outSize }
    try {
      const file = join(dir, "stack.tif")
      log(`writing ${size}×${size}×${slices} uint16 TIFF to ${file}`)
      let t = performance.now()
      await writeStack(file, size, slices)
      const bytes = statSync(file).size
      const mb = bytes / 1e6
      log(`wrote ${mb.toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s; plain fs read…`)
      flushDirtyPages()
      const fsSeconds = fsReadSeconds(file)
      log(`fs read ${(mb / fsSeconds).toFixed(0)} MB/s; plain fs copy…`)
      flushDirtyPages()
      const copySeconds = fsCopySeconds(file, join(dir, "copy.tif"))
      flushDirtyPages()
      log(`fs copy ${(mb / copySeconds).toFixed(0)} MB/s; ingest + normalize in a child process…`)
      t = performance.now()
      const run = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), CHILD_FLAG, file, String(outSize)], {
        encoding: "utf8",
        env: { ...process.env, TMPDIR: dir },
        // tsx resolves from the repository root, wherever the CLI was started
        cwd: fileURLToPath(new URL("../..", import.meta.url)),
        maxBuffer: 1 << 20
      })
      if (run.status !== 0) throw new Error(`child failed (${run.status}): ${run.stderr.slice(-2000)}`)
      const r = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as ChildResult
      const ingestMbS = mb / r.ingestSeconds
      const fsMbS = mb / fsSeconds
      emit({ bench: "ingest", metric: "ingest_mb_s", value: ingestMbS, unit: "MB/s", config })
      emit({ bench: "ingest", metric: "fs_read_mb_s", value: fsMbS, unit: "MB/s", config })
      emit({ bench: "ingest", metric: "ingest_over_fs_read", value: ingestMbS / fsMbS, unit: "ratio", config })
      emit({ bench: "ingest", metric: "fs_copy_mb_s", value: mb / copySeconds, unit: "MB/s", config })
      emit({ bench: "ingest", metric: "ingest_over_fs_copy", value: (ingestMbS * copySeconds) / mb, unit: "ratio", config })
      emit({ bench: "ingest", metric: "ingest_cpu_mb_s", value: mb / r.ingestCpuSeconds, unit: "MB per CPU-s", config })
      emit({ bench: "ingest", metric: "normalize_mb_s", value: mb / r.normalizeSeconds, unit: "MB/s", config })
      emit({ bench: "ingest", metric: "normalize_cpu_mb_s", value: mb / r.normalizeCpuSeconds, unit: "MB per CPU-s", config })
      emit({ bench: "ingest", metric: "ingest_normalize_mb_s", value: mb / (r.ingestSeconds + r.normalizeSeconds), unit: "MB/s", config })
      emit({ bench: "ingest", metric: "peak_rss_mb", value: r.maxRssMb, unit: "MB", config })
      emit({ bench: "ingest", metric: "stack_mb", value: mb, unit: "MB", config: { ...config, storedMb: r.storedBytes / 1e6 } })
      log(
        `child: ingest ${r.ingestSeconds.toFixed(1)} s (CPU ${r.ingestCpuSeconds.toFixed(1)} s), normalize ` +
          `${r.normalizeSeconds.toFixed(1)} s (CPU ${r.normalizeCpuSeconds.toFixed(1)} s), total wall ${((performance.now() - t) / 1000).toFixed(1)} s`
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export default bench

if (process.argv[2] === CHILD_FLAG && process.argv[1] === fileURLToPath(import.meta.url))
  await child(process.argv[3], Number(process.argv[4]))
