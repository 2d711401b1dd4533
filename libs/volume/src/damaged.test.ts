import assert from "node:assert/strict"
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { test } from "node:test"
import { gzipSync } from "node:zlib"
import { Effect } from "effect"
import { InputError } from "@tomoprior/core"
import { tempDir } from "@tomoprior/testkit"
import { storeVolume } from "./copy.ts"
import { allocate, type Dtype } from "./dtype.ts"
import { writeNifti } from "./nifti.ts"
import { openSource } from "./open.ts"
import { identityAffine } from "./orientation.ts"
import { phantomVolume } from "./phantom.ts"
import { writeTiff } from "./tiff.ts"
import { failureOf, readAll } from "./testing.ts"

const dir = tempDir("tomoprior-damaged-")
const DIMS = [4, 16, 16] as const

const validNifti = async (name: string, dtype: Dtype = "int16"): Promise<Buffer> => {
  const file = join(dir, `valid-${name}`)
  await Effect.runPromise(
    writeNifti(file, { dims: DIMS, dtype, affine: identityAffine([1, 1, 2]), spacing: [2, 1, 1] }, () =>
      Effect.succeed(allocate(dtype, 256).fill(7))
    )
  )
  return readFileSync(file)
}
const validTiff = async (name: string, compression: "none" | "deflate" = "none", pages = 3): Promise<Buffer> => {
  const file = join(dir, `valid-${name}`)
  await Effect.runPromise(
    writeTiff(file, { dims: [pages, 16, 16], dtype: "uint16", compression }, (z) => Effect.succeed(allocate("uint16", 256).fill(z + 1)))
  )
  return readFileSync(file)
}
const patched = (b: Buffer, edit: (c: Buffer) => void): Buffer => {
  const c = Buffer.from(b)
  edit(c)
  return c
}
/** Offset of the first IFD and the byte that holds page 0's next-IFD pointer (classic, little-endian). */
const firstIfd = (b: Buffer) => {
  const at = b.readUInt32LE(4)
  const n = b.readUInt16LE(at)
  return { at, n, next: at + 2 + n * 12 }
}
const tagValueAt = (b: Buffer, tag: number): number => {
  const { at, n } = firstIfd(b)
  for (let e = 0; e < n; e++) if (b.readUInt16LE(at + 2 + e * 12) === tag) return at + 2 + e * 12 + 8
  throw new Error(`tag ${tag} not found`)
}

interface Case {
  readonly name: string
  readonly problem: RegExp
  readonly make: () => Promise<string>
}

const file = (name: string, bytes: Buffer | string) => {
  const p = join(dir, name)
  writeFileSync(p, bytes)
  return p
}

const cases: ReadonlyArray<Case> = [
  {
    name: "truncated.nii.gz",
    problem: /decompress|gzip|end of file/i,
    make: async () => {
      const g = gzipSync(await validNifti("a.nii"))
      return file("truncated.nii.gz", g.subarray(0, Math.floor(g.length * 0.6)))
    }
  },
  {
    name: "truncated-body.nii.gz",
    problem: /cannot decompress/,
    make: async () => {
      const g = gzipSync(
        patched(await validNifti("a2.nii"), (c) => {
          for (let i = 352; i < c.length; i++) c[i] = (i * 2654435761) >>> 24
        })
      )
      return file("truncated-body.nii.gz", g.subarray(0, Math.floor(g.length * 0.8)))
    }
  },
  {
    name: "garbage.nii.gz",
    problem: /gzip|corrupt|NIfTI/i,
    make: async () => file("garbage.nii.gz", Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(500, 0xab)]))
  },
  {
    name: "wrong-magic.nii",
    problem: /magic/,
    make: async () =>
      file(
        "wrong-magic.nii",
        patched(await validNifti("b.nii"), (c) => c.write("xy1", 344, "latin1"))
      )
  },
  { name: "text.nii", problem: /not a NIfTI/, make: async () => file("text.nii", "this is not an image\n".repeat(30)) },
  { name: "empty.nii", problem: /too short/, make: async () => file("empty.nii", Buffer.alloc(0)) },
  {
    name: "dims-larger.nii",
    problem: /promises/,
    make: async () =>
      file(
        "dims-larger.nii",
        patched(await validNifti("c.nii"), (c) => c.writeInt16LE(400, 46))
      )
  },
  {
    name: "dims-larger.nii.gz",
    problem: /promises|dims larger|decompress/,
    make: async () => file("dims-larger.nii.gz", gzipSync(patched(await validNifti("d.nii"), (c) => c.writeInt16LE(40, 46))))
  },
  {
    name: "zero-dim.nii",
    problem: /size 0/,
    make: async () =>
      file(
        "zero-dim.nii",
        patched(await validNifti("e.nii"), (c) => c.writeInt16LE(0, 44))
      )
  },
  {
    name: "negative-dim.nii",
    problem: /size -5/,
    make: async () =>
      file(
        "negative-dim.nii",
        patched(await validNifti("f.nii"), (c) => c.writeInt16LE(-5, 42))
      )
  },
  {
    name: "terabytes.nii.gz",
    problem: /impossible|too large/,
    make: async () =>
      file(
        "terabytes.nii.gz",
        gzipSync(
          patched(await validNifti("g.nii"), (c) => {
            c.writeInt16LE(32767, 42)
            c.writeInt16LE(32767, 44)
            c.writeInt16LE(32767, 46)
          })
        )
      )
  },
  {
    name: "terabytes.nii",
    problem: /promises/,
    make: async () =>
      file(
        "terabytes.nii",
        patched(await validNifti("h.nii"), (c) => {
          c.writeInt16LE(32767, 42)
          c.writeInt16LE(32767, 44)
          c.writeInt16LE(32767, 46)
        })
      )
  },
  {
    name: "complex.nii",
    problem: /unsupported NIfTI datatype complex64/,
    make: async () =>
      file(
        "complex.nii",
        patched(await validNifti("i.nii"), (c) => c.writeInt16LE(32, 70))
      )
  },
  {
    name: "unknown-type.nii",
    problem: /unknown NIfTI datatype code 999/,
    make: async () =>
      file(
        "unknown-type.nii",
        patched(await validNifti("j.nii"), (c) => c.writeInt16LE(999, 70))
      )
  },
  {
    name: "4d.nii",
    problem: /only single 3-D volumes/,
    make: async () =>
      file(
        "4d.nii",
        patched(await validNifti("k.nii"), (c) => {
          c.writeInt16LE(4, 40)
          c.writeInt16LE(3, 48)
        })
      )
  },
  {
    name: "bad-offset.nii",
    problem: /vox_offset/,
    make: async () =>
      file(
        "bad-offset.nii",
        patched(await validNifti("l.nii"), (c) => c.writeFloatLE(12, 108))
      )
  },
  {
    name: "singular.nii",
    problem: /singular/,
    make: async () =>
      file(
        "singular.nii",
        patched(await validNifti("m.nii"), (c) => c.fill(0, 280, 328))
      )
  },
  {
    name: "nan-affine.nii",
    problem: /non-finite/,
    make: async () =>
      file(
        "nan-affine.nii",
        patched(await validNifti("n.nii"), (c) => c.writeFloatLE(NaN, 284))
      )
  },
  {
    name: "wrong-magic.tif",
    problem: /not a TIFF/,
    make: async () =>
      file(
        "wrong-magic.tif",
        patched(await validTiff("a.tif"), (c) => c.write("XX", 0, "latin1"))
      )
  },
  {
    name: "bad-version.tif",
    problem: /version 41/,
    make: async () =>
      file(
        "bad-version.tif",
        patched(await validTiff("b.tif"), (c) => c.writeUInt16LE(41, 2))
      )
  },
  {
    name: "ifd-outside.tif",
    problem: /outside the file/,
    make: async () =>
      file(
        "ifd-outside.tif",
        patched(await validTiff("c.tif"), (c) => c.writeUInt32LE(0x7fff_fff0, 4))
      )
  },
  {
    name: "ifd-loop.tif",
    problem: /loop in the IFD chain/,
    make: async () => {
      const b = await validTiff("d.tif")
      return file(
        "ifd-loop.tif",
        patched(b, (c) => c.writeUInt32LE(firstIfd(b).at, firstIfd(b).next))
      )
    }
  },
  {
    name: "strip-outside.tif",
    problem: /strip .* outside the file/,
    make: async () => {
      const b = await validTiff("e.tif", "none", 1)
      return file(
        "strip-outside.tif",
        patched(b, (c) => c.writeUInt32LE(b.length * 4, tagValueAt(b, 273)))
      )
    }
  },
  {
    name: "truncated.tif",
    problem: /outside the file/,
    make: async () => {
      const p = file("truncated.tif", await validTiff("f.tif"))
      truncateSync(p, 900)
      return p
    }
  },
  {
    name: "huge-page.tif",
    problem: /not usable/,
    make: async () => {
      const b = await validTiff("g.tif", "none", 1)
      return file(
        "huge-page.tif",
        patched(b, (c) => {
          c.writeUInt32LE(1_000_000, tagValueAt(b, 256))
          c.writeUInt32LE(1_000_000, tagValueAt(b, 257))
        })
      )
    }
  },
  {
    name: "tall-page.tif",
    problem: /needs 2000000000 bytes but its strips hold 512/,
    make: async () => {
      const b = await validTiff("k.tif", "none", 1)
      return file(
        "tall-page.tif",
        patched(b, (c) => {
          c.writeUInt32LE(62_500_000, tagValueAt(b, 257))
          c.writeUInt32LE(62_500_000, tagValueAt(b, 278))
        })
      )
    }
  },
  {
    name: "corrupt-deflate.tif",
    problem: /corrupt Deflate/,
    make: async () => {
      const b = await validTiff("h.tif", "deflate", 1)
      const off = b.readUInt32LE(tagValueAt(b, 273))
      return file(
        "corrupt-deflate.tif",
        patched(b, (c) => c.fill(0x55, off, off + 8))
      )
    }
  },
  {
    name: "zero-rows-per-strip.tif",
    problem: /RowsPerStrip is 0/,
    make: async () => {
      const b = await validTiff("j.tif", "none", 1)
      return file(
        "zero-rows-per-strip.tif",
        patched(b, (c) => c.writeUInt32LE(0, tagValueAt(b, 278)))
      )
    }
  },
  {
    name: "rgb.tif",
    problem: /samples per pixel/,
    make: async () => {
      const b = await validTiff("i.tif", "none", 1)
      return file(
        "rgb.tif",
        patched(b, (c) => c.writeUInt16LE(3, tagValueAt(b, 277)))
      )
    }
  },
  {
    name: "empty-dir",
    problem: /no \.tif/,
    make: async () => {
      const p = join(dir, "empty-dir")
      mkdirSync(p)
      return p
    }
  },
  { name: "unknown.xyz", problem: /unknown format/, make: async () => file("unknown.xyz", "hello") },
  { name: "missing.nii", problem: /cannot open/, make: async () => join(dir, "missing.nii") }
]

test(`${cases.length} damaged inputs each fail with an InputError naming the file`, { timeout: 60_000 }, async () => {
  assert.ok(cases.length >= 20)
  const rssBefore = process.memoryUsage().rss
  for (const c of cases) {
    const path = await c.make()
    const error = await failureOf(Effect.flatMap(openSource(path), readAll))
    assert.ok(error instanceof InputError, `${c.name}: expected InputError, got ${String(error)}`)
    assert.equal(basename(error.file), c.name, `${c.name}: error names ${error.file}`)
    assert.match(error.problem, c.problem, `${c.name}: ${error.problem}`)
  }
  assert.ok(process.memoryUsage().rss - rssBefore < 300 * 2 ** 20, "no large allocation while rejecting inputs")
})

test("label maps on a different grid, and labels that are not integers, are rejected", async () => {
  const image = phantomVolume(1, { size: 16, slices: 4 }).image
  const other = phantomVolume(1, { size: 12, slices: 4 }).labels
  const e1 = await failureOf(storeVolume(join(dir, "mismatch"), image, { ...other, file: "seg.nii.gz" }, { source: "x" }))
  assert.ok(e1 instanceof InputError)
  assert.equal(e1.file, "seg.nii.gz")
  assert.match(e1.problem, /label grid 4×12×12 ≠ image grid 4×16×16/)
  const fractional = {
    ...image,
    file: "frac.nii",
    dtype: "float32" as const,
    readSlice: (_z: number, out: any) => Effect.succeed(out.fill(0.5))
  }
  const e2 = await failureOf(storeVolume(join(dir, "frac"), image, fractional, { source: "x" }))
  assert.match((e2 as InputError).problem, /not a non-negative integer/)
})

test("a stored volume with a truncated voxel file or a bad header is rejected", async () => {
  const p = phantomVolume(2, { size: 16, slices: 4 })
  const vol = join(dir, "stored")
  await Effect.runPromise(storeVolume(vol, p.image, p.labels, { source: "x" }))
  truncateSync(join(vol, "voxels.raw"), 100)
  const e1 = (await failureOf(openSource(vol))) as InputError
  assert.match(e1.problem, /size 100 bytes, header says 2048/)
  writeFileSync(join(vol, "volume.json"), JSON.stringify({ format: "tomoprior-volume", version: 1, dims: [-1, 2, 2] }))
  const e2 = (await failureOf(openSource(vol))) as InputError
  assert.match(e2.problem, /invalid volume header/)
})
