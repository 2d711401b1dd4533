import assert from "node:assert/strict"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { tempDir } from "@tomoprior/testkit"
import { allocate, openSource, phantomVolume, phantomVolumeSeed, StatsAccumulator, type VolumeSource } from "@tomoprior/volume"
import type { Io } from "../command.ts"
import { phantom } from "./phantom.ts"
import { volumeInfoCommand } from "./volume-info.ts"

const capture = (cwd: string) => {
  const out: Array<string> = []
  const err: Array<string> = []
  const io: Io = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), isTTY: false, cwd, env: {} }
  return { io, out, err }
}

const slices = (source: VolumeSource) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const all: Array<Array<number>> = []
      for (let z = 0; z < source.dims[0]; z++)
        all.push([...(yield* source.readSlice(z, allocate(source.dtype, source.dims[1] * source.dims[2])))])
      return all
    })
  )

for (const format of ["nifti", "tiff"] as const) {
  test(`tomoprior phantom --format ${format} writes the volumes ingest generates, with labels, read back identical`, async () => {
    const dir = tempDir()
    const { io, out } = capture(dir)
    const code = await phantom.run(
      ["--out", "ph", "--volumes", "2", "--size", "24", "--slices", "6", "--seed", "4", "--format", format],
      io
    )
    assert.equal(code, 0)
    assert.match(out.join(""), /wrote 4 files/)
    const ext = format === "nifti" ? ".nii.gz" : ".tif"
    for (const i of [0, 1]) {
      const expected = phantomVolume(phantomVolumeSeed(4, i), { size: 24, slices: 6 })
      for (const [name, source] of [
        [`torso-00${i}${ext}`, expected.image],
        [`torso-00${i}_seg${ext}`, expected.labels]
      ] as const) {
        const [got, want] = await Effect.runPromise(
          Effect.scoped(
            Effect.flatMap(openSource(join(dir, "ph", name)), (s) => Effect.promise(() => Promise.all([slices(s), slices(source)])))
          )
        )
        assert.deepEqual(got, want, name)
      }
    }
  })
}

test("tomoprior volume-info --json reports dims, spacing, axis codes and float64 statistics", async () => {
  const dir = tempDir()
  await phantom.run(["--out", ".", "--volumes", "1", "--size", "20", "--slices", "5", "--seed", "9"], capture(dir).io)
  const { io, out } = capture(dir)
  assert.equal(await volumeInfoCommand.run(["torso-000.nii.gz", "--json"], io), 0)
  const info = JSON.parse(out.join(""))
  const source = phantomVolume(phantomVolumeSeed(9, 0), { size: 20, slices: 5 })
  const stats = new StatsAccumulator()
  for (const s of await slices(source.image)) stats.add(s)
  const want = stats.result()
  assert.deepEqual(info.dims, [20, 20, 5])
  assert.deepEqual(info.axisCodes, ["R", "A", "S"])
  assert.equal(info.voxelType, "int16")
  assert.ok(Math.abs(info.spacing[0] - 20) < 1e-4)
  assert.equal(info.min, want.min)
  assert.equal(info.max, want.max)
  assert.ok(Math.abs(info.mean - want.mean) < 1e-9)
  assert.ok(Math.abs(info.std - want.std) < 1e-9)
  const bad = capture(dir)
  assert.equal(await volumeInfoCommand.run(["nothing.nii"], bad.io), 1)
  assert.match(bad.err.join(""), /nothing\.nii/)
})
