import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect, Exit, Schema } from "effect"
import { InputError } from "@tomoprior/core"
import { checkParamsTable, runStageForTest, tempDir } from "@tomoprior/testkit"
import {
  allocate,
  identityAffine,
  openVolume,
  readVolumeSet,
  writeNifti,
  writeTiff,
  writeTiffDirectory,
  type Dtype
} from "@tomoprior/volume"
import { IngestParams } from "./params.ts"
import { ingestStage } from "./stage.ts"

const run = (params: unknown, pipelineDir?: string) =>
  Effect.runPromise(runStageForTest(ingestStage, pipelineDir === undefined ? { params } : { params, pipelineDir }))
const failure = (params: unknown) => Effect.runPromise(Effect.flip(runStageForTest(ingestStage, { params })))

test("phantom:torso ingests deterministic labeled volumes that differ between seeds", async () => {
  const a = await run({ volumes: 3, size: 32, slices: 12, seed: 5 })
  const b = await run({ volumes: 3, size: 32, slices: 12, seed: 5 })
  const c = await run({ volumes: 1, size: 32, slices: 12, seed: 6 })
  const set = await Effect.runPromise(readVolumeSet(a.outputs.volumes.dir))
  assert.equal(set.index.volumes.length, 3)
  assert.deepEqual(set.index.labelNames, { "0": "background", "1": "lungs", "2": "heart", "3": "liver", "4": "spine", "5": "lesions" })
  for (const v of set.index.volumes) {
    assert.deepEqual(v.dims, [12, 32, 32])
    assert.ok(v.hasLabels)
  }
  const bytes = (dir: string, id: string) => readFileSync(join(dir, "volumes", id, "voxels.raw"))
  assert.ok(bytes(a.outputs.volumes.dir, "torso-000").equals(bytes(b.outputs.volumes.dir, "torso-000")))
  assert.ok(!bytes(a.outputs.volumes.dir, "torso-000").equals(bytes(a.outputs.volumes.dir, "torso-001")))
  assert.ok(!bytes(a.outputs.volumes.dir, "torso-000").equals(bytes(c.outputs.volumes.dir, "torso-000")))
  assert.ok(a.progress.length > 0 && a.progress.every((p) => p.unit === "slices"))
})

const slice = (dtype: Dtype, n: number, z: number, mod = 251) => {
  const a = allocate(dtype, n)
  for (let i = 0; i < n; i++) a[i] = (i * 13 + z * 7) % mod
  return a
}

test("a glob of NIfTI files with a {name} label rule; matched files are declared for the cache key", async () => {
  const dir = tempDir()
  mkdirSync(join(dir, "data"))
  const dims = [5, 6, 7] as const
  for (const name of ["b", "a"]) {
    const opts = { dims, affine: identityAffine([1, 1, 2]), spacing: [2, 1, 1] as const }
    await Effect.runPromise(
      writeNifti(join(dir, "data", `${name}.nii.gz`), { ...opts, dtype: "int16" }, (z) => Effect.succeed(slice("int16", 42, z)))
    )
    await Effect.runPromise(
      writeNifti(join(dir, "data", `${name}_seg.nii.gz`), { ...opts, dtype: "uint8" }, (z) => Effect.succeed(slice("uint8", 42, z, 3)))
    )
  }
  const params = { source: "data/*.nii.gz", labels: "{name}_seg.nii.gz" }
  const files = await Effect.runPromise(
    Effect.flatMap(Schema.decodeUnknownEffect(IngestParams)(params), (p) => ingestStage.externalFiles!(p, dir))
  )
  assert.deepEqual([...files].map((f) => f.slice(dir.length + 1)).sort(), [
    "data/a.nii.gz",
    "data/a_seg.nii.gz",
    "data/b.nii.gz",
    "data/b_seg.nii.gz"
  ])
  const r = await run({ source: join(dir, "data/*.nii.gz"), labels: "{name}_seg.nii.gz" })
  const set = await Effect.runPromise(readVolumeSet(r.outputs.volumes.dir))
  assert.deepEqual(
    set.index.volumes.map((v) => v.id),
    ["a", "b"]
  )
  assert.deepEqual(set.index.labelNames, { "0": "background", "1": "label 1", "2": "label 2" })
  await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const v = yield* openVolume(set.volumes[0].dir)
        assert.equal(v.header.dtype, "int16")
        assert.deepEqual([...v.readSlice(3)], [...slice("int16", 42, 3)])
        assert.deepEqual([...v.readLabelSlice(3)], [...slice("uint8", 42, 3, 3)])
      })
    )
  )
})

test("TIFF stacks and directories of slices, with spacing from the parameters", async () => {
  const dir = tempDir()
  mkdirSync(join(dir, "slices"))
  await Effect.runPromise(
    writeTiff(join(dir, "stack.tif"), { dims: [4, 8, 9], dtype: "uint16", compression: "deflate" }, (z) =>
      Effect.succeed(slice("uint16", 72, z))
    )
  )
  await Effect.runPromise(
    writeTiffDirectory(join(dir, "slices"), { dims: [3, 8, 9], dtype: "uint16" }, (z) => Effect.succeed(slice("uint16", 72, z)))
  )
  const r = await run({ source: join(dir, "s*"), spacing: [2, 0.5, 0.5] })
  const set = await Effect.runPromise(readVolumeSet(r.outputs.volumes.dir))
  assert.deepEqual(
    set.index.volumes.map((v) => [v.id, v.dims, v.spacing]),
    [
      ["slices", [3, 8, 9], [2, 0.5, 0.5]],
      ["stack", [4, 8, 9], [2, 0.5, 0.5]]
    ]
  )
})

test("an empty glob, a label grid mismatch and unpaired label globs fail with InputError naming the file", async () => {
  const dir = tempDir()
  const e1 = await failure({ source: join(dir, "*.nii.gz") })
  assert.ok(e1 instanceof InputError)
  assert.match(e1.problem, /matches no/)
  await Effect.runPromise(
    writeNifti(join(dir, "x.nii"), { dims: [3, 4, 4], dtype: "int16", affine: identityAffine([1, 1, 1]), spacing: [1, 1, 1] }, (z) =>
      Effect.succeed(slice("int16", 16, z))
    )
  )
  await Effect.runPromise(
    writeNifti(join(dir, "x_seg.nii"), { dims: [3, 4, 5], dtype: "uint8", affine: identityAffine([1, 1, 1]), spacing: [1, 1, 1] }, (z) =>
      Effect.succeed(slice("uint8", 20, z, 2))
    )
  )
  const e2 = await failure({ source: join(dir, "*.nii"), labels: "{name}_seg.nii" })
  assert.ok(e2 instanceof InputError)
  assert.equal(e2.file, join(dir, "x_seg.nii"))
  assert.match(e2.problem, /label grid 3×4×5 ≠ image grid 3×4×4/)
  const e3 = await failure({ source: join(dir, "x.nii"), labels: join(dir, "*_seg.nii*") + "-none" })
  assert.ok(e3 instanceof InputError)
  assert.match(e3.problem, /0 label maps for 1 images/)
})

const REAL = "/work/shared/data/real/totalseg_example_ct.nii.gz"

test(
  "a real CT ingests to a RAS+ stored volume whose statistics match nibabel's",
  { skip: !existsSync(REAL) && "real data absent" },
  async () => {
    const reference = JSON.parse(readFileSync(new URL("../../../volume/fixtures/real-reference.json", import.meta.url), "utf8")).volumes[
      "totalseg_example_ct.nii.gz"
    ]
    const r = await run({ source: REAL })
    const set = await Effect.runPromise(readVolumeSet(r.outputs.volumes.dir))
    const v = set.index.volumes[0]
    assert.deepEqual(v.dims, [...reference.dims].reverse())
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const h = (yield* openVolume(set.volumes[0].dir)).header
          assert.deepEqual(h.axisCodes, ["R", "A", "S"])
          assert.ok(Math.abs(h.stats.mean - reference.mean) <= 1e-4 * Math.abs(reference.mean))
          assert.ok(Math.abs(h.stats.std - reference.std) <= 1e-4 * reference.std)
        })
      )
    )
  }
)

test("a relative source resolves against the pipeline's directory, not the cwd, in the cache key and in the run", async () => {
  const dir = tempDir()
  mkdirSync(join(dir, "scans"))
  await Effect.runPromise(
    writeNifti(
      join(dir, "scans", "s.nii"),
      { dims: [2, 3, 3], dtype: "int16", affine: identityAffine([1, 1, 1]), spacing: [1, 1, 1] },
      (z) => Effect.succeed(slice("int16", 9, z))
    )
  )
  const params = { source: "scans/*.nii" }
  const files = await Effect.runPromise(
    Effect.flatMap(Schema.decodeUnknownEffect(IngestParams)(params), (p) => ingestStage.externalFiles!(p, dir))
  )
  assert.deepEqual(files, [join(dir, "scans", "s.nii")])
  assert.notEqual(process.cwd(), dir)
  const r = await run(params, dir)
  const set = await Effect.runPromise(readVolumeSet(r.outputs.volumes.dir))
  assert.equal(set.index.volumes[0].source, join(dir, "scans", "s.nii"))
})

test("labels or spacing with the phantom are refused by the schema, at the key, so plan points at it", () => {
  const exit = Schema.decodeUnknownExit(IngestParams)({ labels: "{name}_seg.nii", spacing: [1, 1, 1] }, { errors: "all" })
  assert.ok(Exit.isFailure(exit))
  assert.match(
    String(exit.cause),
    /`labels` applies to files[\s\S]*at \["labels"\][\s\S]*`spacing` applies to files[\s\S]*at \["spacing"\]/
  )
  assert.ok(
    Exit.isSuccess(Schema.decodeUnknownExit(IngestParams)({ labels: "" })),
    "an empty `labels` (an unset pipeline param) is no labels"
  )
})

test("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), IngestParams)
})

const MAKE_DICOM = new URL("../../../volume/fixtures/make-dicom.py", import.meta.url).pathname
const canDicom = existsSync("/usr/bin/python3") && spawnSync("/usr/bin/python3", ["-c", "import pydicom, nibabel"]).status === 0

test(
  "a DICOM series with a NIfTI label map; its extensionless files enter the cache key",
  { skip: !canDicom && "pydicom not installed" },
  async () => {
    const dir = tempDir()
    const series = join(dir, "ct")
    const made = spawnSync("/usr/bin/python3", [MAKE_DICOM, series, JSON.stringify({ rows: 8, cols: 9, slices: 5, intercept: -1024 })])
    assert.equal(made.status, 0, String(made.stderr))
    const ref = JSON.parse(readFileSync(join(dir, "ct.json"), "utf8")) as { affine: Array<Array<number>>; zooms: Array<number> }
    await Effect.runPromise(
      writeNifti(
        join(dir, "ct_seg.nii.gz"),
        { dims: [5, 8, 9], dtype: "uint8", affine: ref.affine, spacing: [ref.zooms[2], ref.zooms[1], ref.zooms[0]] },
        (z) => Effect.succeed(slice("uint8", 72, z, 3))
      )
    )
    const params = { source: "ct", labels: "{name}_seg.nii.gz" }
    const files = await Effect.runPromise(
      Effect.flatMap(Schema.decodeUnknownEffect(IngestParams)(params), (p) => ingestStage.externalFiles!(p, dir))
    )
    assert.equal(files.filter((f) => f.startsWith(series + "/")).length, 5)
    assert.ok(files.includes(join(dir, "ct_seg.nii.gz")))
    const r = await run(params, dir)
    const set = await Effect.runPromise(readVolumeSet(r.outputs.volumes.dir))
    assert.deepEqual(set.index.volumes[0].dims, [5, 8, 9])
    assert.ok(set.index.volumes[0].hasLabels)
    assert.match(r.logs.join("\n"), /ct: 9×8×5 int16 \(Explicit VR Little Endian\) × 1 \+ -1024/)
  }
)

test(
  "a DICOM series with a truncated slice fails the stage with an InputError naming that file",
  { skip: !canDicom && "pydicom not installed" },
  async () => {
    const dir = tempDir()
    const series = join(dir, "ct")
    spawnSync("/usr/bin/python3", [MAKE_DICOM, series, JSON.stringify({ rows: 8, cols: 9, slices: 5, reference: false })])
    const victim = join(series, readdirSync(series)[1])
    truncateSync(victim, statSync(victim).size - 20)
    const e = await failure({ source: series })
    assert.ok(e instanceof InputError)
    assert.equal(e.file, victim)
    assert.match(e.problem, /pixel data is truncated/)
  }
)
