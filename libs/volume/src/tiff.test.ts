import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { tempDir } from "@tomoprior/testkit"
import { allocate, type Dtype, type VoxelArray } from "./dtype.ts"
import { readTiffDirectory, readTiffStack, writeTiff, writeTiffDirectory } from "./tiff.ts"
import { hasTiffcp, readAll, runScoped } from "./testing.ts"

const DIMS = [5, 37, 23] as const // odd sizes: partial last strips, unaligned rows

/** Values spanning the type's range (negatives, extremes), different per slice. */
const pattern = (dtype: Dtype, z: number): VoxelArray => {
  const n = DIMS[1] * DIMS[2]
  const a = allocate(dtype, n)
  const span = { uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int32: [-2e9, 2e9], float32: [-3e4, 3e4] }[dtype]
  for (let i = 0; i < n; i++) {
    const f = ((i * 7919 + z * 104729) % 1009) / 1008
    const v = span[0] + f * (span[1] - span[0])
    a[i] = dtype === "float32" ? v + 0.125 : Math.round(v)
  }
  return a
}

const expectStack = (source: Float64Array, dtype: Dtype, label: string) => {
  const n = DIMS[1] * DIMS[2]
  for (let z = 0; z < DIMS[0]; z++) {
    const want = pattern(dtype, z)
    for (let i = 0; i < n; i++)
      if (source[z * n + i] !== want[i]) assert.fail(`${label}: slice ${z} voxel ${i}: ${source[z * n + i]} ≠ ${want[i]}`)
  }
}

const DTYPES: ReadonlyArray<Dtype> = ["uint8", "int16", "uint16", "int32", "float32"]

test("TIFF stacks round-trip for every voxel type, none/Deflate, classic and BigTIFF, stack and directory", async () => {
  const dir = tempDir()
  for (const dtype of DTYPES) {
    for (const compression of ["none", "deflate"] as const) {
      for (const bigTiff of [false, true]) {
        const file = join(dir, `${dtype}-${compression}-${bigTiff ? "big" : "classic"}.tif`)
        await Effect.runPromise(
          writeTiff(file, { dims: DIMS, dtype, compression, bigTiff, rowsPerStrip: 8 }, (z) => Effect.succeed(pattern(dtype, z)))
        )
        const src = await runScoped(Effect.flatMap(readTiffStack(file), (s) => Effect.map(readAll(s), (data) => ({ s, data }))))
        assert.deepEqual([...src.s.dims], [...DIMS])
        assert.equal(src.s.dtype, dtype)
        expectStack(src.data, dtype, file)
      }
    }
    const slices = join(dir, `${dtype}-slices`)
    mkdirSync(slices)
    await Effect.runPromise(
      writeTiffDirectory(slices, { dims: DIMS, dtype, compression: "deflate" }, (z) => Effect.succeed(pattern(dtype, z)))
    )
    expectStack(await runScoped(Effect.flatMap(readTiffDirectory(slices), readAll)), dtype, slices)
  }
})

test(
  "stacks recompressed by libtiff's tiffcp (LZW, PackBits, Deflate, tiles, big-endian) read back identical",
  { skip: !hasTiffcp() && "tiffcp (libtiff-tools) absent" },
  async () => {
    const dir = tempDir()
    for (const dtype of DTYPES) {
      const plain = join(dir, `${dtype}.tif`)
      await Effect.runPromise(writeTiff(plain, { dims: DIMS, dtype, compression: "none" }, (z) => Effect.succeed(pattern(dtype, z))))
      const variants: Array<[string, Array<string>]> = [
        ["lzw", ["-c", "lzw"]],
        ["packbits", ["-c", "packbits"]],
        ["zip-predictor", ["-c", dtype === "float32" ? "zip" : "zip:2"]],
        ["tiled", ["-c", "zip", "-t", "-w", "16", "-l", "16"]],
        ["big-endian", ["-B"]],
        ["bigtiff-lzw", ["-8", "-c", "lzw"]]
      ]
      for (const [name, args] of variants) {
        const out = join(dir, `${dtype}-${name}.tif`)
        const r = spawnSync("tiffcp", [...args, plain, out], { encoding: "utf8" })
        assert.equal(r.status, 0, r.stderr)
        expectStack(await runScoped(Effect.flatMap(readTiffStack(out), readAll)), dtype, out)
      }
    }
    // a directory of LZW slices goes through geotiff one file at a time
    const plainDir = join(dir, "plain-slices")
    const lzwDir = join(dir, "lzw-slices")
    mkdirSync(plainDir)
    mkdirSync(lzwDir)
    await Effect.runPromise(writeTiffDirectory(plainDir, { dims: DIMS, dtype: "int16" }, (z) => Effect.succeed(pattern("int16", z))))
    for (let z = 0; z < DIMS[0]; z++) {
      const name = `slice_${String(z).padStart(5, "0")}.tif`
      assert.equal(spawnSync("tiffcp", ["-c", "lzw", join(plainDir, name), join(lzwDir, name)]).status, 0)
    }
    expectStack(await runScoped(Effect.flatMap(readTiffDirectory(lzwDir), readAll)), "int16", lzwDir)
  }
)

test("a directory of slices is read in natural name order (s2 before s10)", async () => {
  const dir = tempDir()
  for (const z of [10, 1, 2])
    await Effect.runPromise(
      writeTiff(join(dir, `s${z}.tif`), { dims: [1, 2, 2], dtype: "uint8" }, () => Effect.succeed(new Uint8Array(4).fill(z)))
    )
  const data = await runScoped(Effect.flatMap(readTiffDirectory(dir), readAll))
  assert.deepEqual([...data], [1, 1, 1, 1, 2, 2, 2, 2, 10, 10, 10, 10])
})
