import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { tempDir } from "@tomoprior/testkit"
import { openSource } from "./open.ts"
import { fixture, hasPythonModules, PYTHON, readAll, readF64, run, runScoped } from "./testing.ts"

/** HDF5 written by h5py (+ hdf5plugin for Blosc) and Zarr by zarr-python (v3 by hand from the spec), read back exactly. */
const canWrite = hasPythonModules("h5py", "hdf5plugin", "zarr", "numcodecs", "numpy")
const dir = tempDir("tomoprior-arrays-")
if (canWrite) run(PYTHON, [fixture("make-arrays.py"), dir])

interface Case {
  readonly name: string
  readonly path: string
  readonly dataset?: string
  readonly level?: number
  readonly spacing?: [number, number, number]
}
const cases: ReadonlyArray<Case> = canWrite ? JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) : []

test(
  "HDF5 and Zarr arrays agree with their writers voxel for voxel",
  { skip: !canWrite && "h5py/hdf5plugin/zarr not installed" },
  async () => {
    assert.ok(cases.length >= 12)
    for (const c of cases) {
      const expected = readF64(join(dir, `${c.name}.f64`))
      const { dims, spacing, format, values } = await runScoped(
        Effect.gen(function* () {
          const src = yield* openSource(join(dir, c.path), { dataset: c.dataset, level: c.level })
          return { ...src, values: yield* readAll(src) }
        })
      )
      assert.equal(format, c.name.startsWith("h5") ? "hdf5" : "zarr", c.name)
      assert.equal(values.length, expected.length, c.name)
      assert.equal(dims[0] * dims[1] * dims[2], expected.length, c.name)
      // float64 data is kept as float32
      const float32 = c.name.includes("float64")
      for (let i = 0; i < values.length; i++) {
        const want = float32 ? Math.fround(expected[i]) : expected[i]
        if (values[i] !== want) assert.fail(`${c.name}: voxel ${i} is ${values[i]}, the writer wrote ${want}`)
      }
      if (c.spacing) for (let a = 0; a < 3; a++) assert.ok(Math.abs(spacing[a] - c.spacing[a]) < 1e-12, `${c.name} spacing ${spacing}`)
    }
  }
)

test(
  "spacing given for HDF5 and plain Zarr is kept; OME-Zarr's own scale is used unless spacing is given",
  { skip: !canWrite && "h5py/zarr not installed" },
  async () => {
    const spacing = [2, 0.5, 0.25] as const
    const h5 = await runScoped(openSource(join(dir, "scan.h5"), { spacing }))
    assert.deepEqual([...h5.spacing], [...spacing])
    assert.deepEqual([...h5.dims], [9, 12, 10])
    const ome = await runScoped(openSource(join(dir, "image.ome.zarr"), { spacing }))
    assert.deepEqual([...ome.spacing], [...spacing])
    const plain = await runScoped(openSource(join(dir, "blosc.zarr")))
    assert.deepEqual([...plain.spacing], [1, 1, 1])
  }
)
