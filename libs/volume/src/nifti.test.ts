import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { tempDir } from "@tomoprior/testkit"
import { allocate, type Dtype } from "./dtype.ts"
import { volumeInfo } from "./info.ts"
import { readNifti, writeNifti } from "./nifti.ts"
import { identityAffine } from "./orientation.ts"
import { hasNibabel, PYTHON, readAll, readF64, runScoped } from "./testing.ts"

const REAL_DIR = "/work/shared/data/real"
const reference = JSON.parse(readFileSync(new URL("../fixtures/real-reference.json", import.meta.url), "utf8")) as {
  volumes: Record<
    string,
    { dims: Array<number>; spacing: Array<number>; axisCodes: Array<string>; min: number; max: number; mean: number; std: number }
  >
}

for (const [name, ref] of Object.entries(reference.volumes)) {
  const file = join(REAL_DIR, name)
  test(`volume-info on real ${name} matches nibabel`, { skip: !existsSync(file) && "real data absent" }, async () => {
    const info = await Effect.runPromise(volumeInfo(file))
    assert.deepEqual([...info.dims], ref.dims)
    assert.deepEqual([...info.spacing], ref.spacing)
    assert.deepEqual([...info.axisCodes], ref.axisCodes)
    assert.equal(info.min, ref.min)
    assert.equal(info.max, ref.max)
    assert.ok(Math.abs(info.mean - ref.mean) <= 1e-4 * Math.abs(ref.mean), `mean ${info.mean} vs ${ref.mean}`)
    assert.ok(Math.abs(info.std - ref.std) <= 1e-4 * ref.std, `std ${info.std} vs ${ref.std}`)
  })
}

/** Writes NIfTI files with nibabel and, for each, the RAS-canonical data nibabel itself computes. */
const NIBABEL_WRITER = `
import json, sys
import numpy as np, nibabel as nib
out = sys.argv[1]
rng = np.random.default_rng(3)
shape = (7, 5, 4)
affines = {
  "ras": np.diag([0.8, 0.9, 2.5, 1.0]),
  "lai": np.array([[-0.8, 0, 0, 10], [0, 0.9, 0, -3], [0, 0, -2.5, 40], [0, 0, 0, 1.0]]),
  "permuted": np.array([[0, 0, 2.5, 0], [-0.8, 0, 0, 5], [0, 0.9, 0, 0], [0, 0, 0, 1.0]]),
}
def values(dt):
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 1000).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(max(info.min, -40000), min(info.max, 70000), size=shape, endpoint=True).astype(dt)
cases = []
def case(name, dt, orient, ext, slope=None, inter=None, qform_only=False, big_endian=False, nifti2=False):
    dt = np.dtype(dt)
    Header, Image = (nib.Nifti2Header, nib.Nifti2Image) if nifti2 else (nib.Nifti1Header, nib.Nifti1Image)
    hdr = Header(endianness=">" if big_endian else "<")
    img = Image(values(dt), affines[orient], hdr)
    img.set_data_dtype(dt.newbyteorder(">" if big_endian else "<"))
    if qform_only:
        img.set_qform(affines[orient], code=1)
        img.set_sform(None, code=0)
    if slope is not None:
        img.header.set_slope_inter(slope, inter)
    path = f"{out}/{name}{ext}"
    nib.save(img, path)
    canon = nib.as_closest_canonical(nib.load(path))
    data = canon.get_fdata()
    data.transpose(2, 1, 0).astype("<f8").tofile(f"{out}/{name}.f64")
    cases.append({"name": name, "file": path, "dims": list(data.shape), "zooms": [float(z) for z in canon.header.get_zooms()], "scaled": slope is not None})
for dt in ["uint8", "int8", "int16", "uint16", "int32", "uint32", "float32", "float64"]:
    case(f"{dt}-ras", dt, "ras", ".nii")
    case(f"{dt}-lai", dt, "lai", ".nii.gz")
case("int16-permuted", "int16", "permuted", ".nii")
case("float32-permuted-gz", "float32", "permuted", ".nii.gz")
case("int16-scaled", "int16", "lai", ".nii.gz", slope=0.5, inter=-100.0)
case("uint8-scaled", "uint8", "ras", ".nii", slope=2.0, inter=3.0)
case("int16-qform", "int16", "lai", ".nii", qform_only=True)
case("uint16-big-endian", "uint16", "permuted", ".nii", big_endian=True)
case("nifti2-float32", "float32", "lai", ".nii", nifti2=True)
case("nifti2-int16-scaled-gz", "int16", "permuted", ".nii.gz", slope=0.25, inter=7.0, nifti2=True)
json.dump(cases, open(f"{out}/cases.json", "w"))
`

test(
  "NIfTI files written by nibabel read back voxel-identical to nibabel's canonical data",
  { skip: !hasNibabel() && "python3-nibabel absent" },
  async () => {
    const dir = tempDir()
    const run = spawnSync(PYTHON, ["-c", NIBABEL_WRITER, dir], { encoding: "utf8" })
    assert.equal(run.status, 0, run.stderr)
    const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as Array<{
      name: string
      file: string
      dims: Array<number>
      zooms: Array<number>
      scaled: boolean
    }>
    assert.ok(cases.length >= 20)
    for (const c of cases) {
      const expected = readF64(join(dir, `${c.name}.f64`))
      await runScoped(
        Effect.gen(function* () {
          const src = yield* readNifti(c.file)
          assert.deepEqual([...src.dims], [c.dims[2], c.dims[1], c.dims[0]], c.name)
          assert.deepEqual([...src.axisCodes], ["R", "A", "S"], c.name)
          for (let a = 0; a < 3; a++) assert.ok(Math.abs(src.spacing[2 - a] - c.zooms[a]) < 1e-6, `${c.name} spacing`)
          const got = yield* readAll(src)
          for (let i = 0; i < expected.length; i++) {
            const want = src.dtype === "float32" ? Math.fround(expected[i]) : expected[i]
            if (c.scaled) assert.ok(Math.abs(got[i] - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${c.name}[${i}]: ${got[i]} vs ${want}`)
            else assert.equal(got[i], want, `${c.name}[${i}]`)
          }
        })
      )
    }
  }
)

const NIBABEL_DUMP = `
import sys, numpy as np, nibabel as nib
for path in sys.argv[1:]:
    img = nib.load(path)
    img.get_fdata().transpose(2, 1, 0).astype("<f8").tofile(path + ".f64")
    print(",".join(nib.aff2axcodes(img.affine)), ",".join(str(float(z)) for z in img.header.get_zooms()))
`

const ramp = (dtype: Dtype, n: number, z: number) => {
  const a = allocate(dtype, n)
  for (let i = 0; i < n; i++)
    a[i] = ((i * 37 + z * 101) % 251) - (dtype === "uint8" || dtype === "uint16" ? 0 : 120) + (dtype === "float32" ? 0.25 : 0)
  return a
}

test("our NIfTI writer round-trips through our reader and through nibabel", async () => {
  const dir = tempDir()
  const dims = [6, 5, 4] as const
  const files: Array<{ file: string; dtype: Dtype; scale?: { slope: number; inter: number } }> = []
  for (const dtype of ["uint8", "int16", "uint16", "int32", "float32"] as const)
    for (const ext of [".nii", ".nii.gz"]) files.push({ file: join(dir, `${dtype}${ext}`), dtype })
  files.push({ file: join(dir, "scaled.nii.gz"), dtype: "int16", scale: { slope: 0.25, inter: -1024 } })
  for (const f of files) {
    await Effect.runPromise(
      writeNifti(f.file, { dims, dtype: f.dtype, affine: identityAffine([0.7, 0.8, 2]), spacing: [2, 0.8, 0.7], scale: f.scale }, (z) =>
        Effect.succeed(ramp(f.dtype, 20, z))
      )
    )
    const got = await runScoped(Effect.flatMap(readNifti(f.file), readAll))
    for (let z = 0; z < 6; z++) {
      const want = ramp(f.dtype, 20, z)
      for (let i = 0; i < 20; i++) {
        const w = f.scale ? Math.fround(want[i] * f.scale.slope + f.scale.inter) : want[i]
        assert.equal(got[z * 20 + i], w, `${f.file} z=${z} i=${i}`)
      }
    }
  }
  if (!hasNibabel()) return
  const run = spawnSync(PYTHON, ["-c", NIBABEL_DUMP, ...files.map((f) => f.file)], { encoding: "utf8" })
  assert.equal(run.status, 0, run.stderr)
  for (const [k, line] of run.stdout.trim().split("\n").entries()) {
    const [codes, zooms] = line.split(" ")
    assert.equal(codes, "R,A,S")
    assert.deepEqual(
      zooms.split(",").map((z) => Math.fround(Number(z))),
      [0.7, 0.8, 2].map(Math.fround)
    )
    const theirs = readF64(files[k].file + ".f64")
    const ours = await runScoped(Effect.flatMap(readNifti(files[k].file), readAll))
    for (let i = 0; i < theirs.length; i++)
      assert.ok(Math.abs(theirs[i] - ours[i]) <= 1e-6 * Math.max(1, Math.abs(theirs[i])), `${files[k].file}[${i}]`)
  }
})
