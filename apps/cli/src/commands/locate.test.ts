import assert from "node:assert/strict"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { untrainedEncoder } from "@tomoprior/compute/testing"
import { hasPythonModules, PYTHON, run, tempDir } from "@tomoprior/testkit"
import { allocate, openSource, sliceLength, writeNifti, writeTiff } from "@tomoprior/volume"
import { captureIo as capture } from "../testing.ts"
import { main } from "../main.ts"

const SIZE = 32
const dir = tempDir("tomoprior-locate-")
const encoder = await Effect.runPromise(untrainedEncoder("sorting", SIZE))
await main(["phantom", "--out", ".", "--volumes", "1", "--size", String(SIZE), "--slices", "40", "--seed", "4"], capture(dir).io)
const REFERENCE = join(dir, "torso-000.nii.gz")

/** Slices from, from + step, … (count of them) of the reference as a new file: NIfTI (spacing step × the reference's) or TIFF (none). */
const crop = (name: string, from: number, count: number, step: number) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const source = yield* openSource(REFERENCE)
        const slice = allocate(source.dtype, sliceLength(source.dims))
        const dims = [count, source.dims[1], source.dims[2]] as const
        const produce = (z: number) => source.readSlice(from + step * z, slice)
        const file = join(dir, name)
        if (name.endsWith(".tif")) yield* writeTiff(file, { dims, dtype: source.dtype, compression: "deflate" }, produce)
        else {
          const spacing = [step * source.spacing[0], source.spacing[1], source.spacing[2]] as const
          yield* writeNifti(file, { dims, dtype: source.dtype, affine: source.affine, spacing }, produce)
        }
        return file
      })
    )
  )

const locate = async (...args: ReadonlyArray<string>) => {
  const c = capture(dir)
  const code = await main(["locate", ...args, "--backend", "wasm"], c.io)
  return { code, out: c.out(), err: c.err() }
}

test("tomoprior locate finds a crop of a scan inside it: text and --json, offset and last slice exact, scale from the headers", async () => {
  const scan = await crop("crop.nii.gz", 12, 16, 1)
  const text = await locate(scan, "--in", REFERENCE, "--encoder", encoder.dir)
  assert.equal(text.code, 0, text.err)
  assert.match(text.out, /crop\.nii\.gz \(16 slices\) sits at reference slices 12 … 27 of 40\n/)
  assert.match(text.out, /offset 12, scale 1 reference slices per scan slice \(from the headers: 8\.502 \/ 8\.502 mm\)/)
  assert.match(text.out, /confidence 1\.00 \(best cost 0\.00; next placement ≥ 3 slices away: offset (9|15), cost 0\.\d+\)/)
  assert.match(text.out, new RegExp(`encoder ${encoder.dir} \\(sorting\\)`))

  const json = await locate(scan, "--in", REFERENCE, "--encoder", encoder.dir, "--json")
  assert.equal(json.code, 0, json.err)
  const r = JSON.parse(json.out)
  assert.deepEqual(
    [r.scan, r.reference, r.scanSlices, r.referenceSlices, r.offset, r.scale, r.lastSlice, r.scaleFrom, r.overlap, r.method],
    [scan, REFERENCE, 16, 40, 12, 1, 27, "spacing", 16, "sorting"]
  )
  assert.ok(r.cost < 1e-9, `the crop's own slices cost ${r.cost}`)
  assert.ok(r.confidence > 0.5 && r.runnerUp.cost > 0, JSON.stringify(r))
  if (hasPythonModules("nibabel", "numpy")) {
    // the default window: the reference's 1st and 99.5th percentiles (nearest rank below), as numpy has them
    const numpy = run(PYTHON, [
      "-c",
      "import sys, nibabel, numpy; v = numpy.asarray(nibabel.load(sys.argv[1]).dataobj).ravel();" +
        "print(*numpy.percentile(v, [1, 99.5], method='lower'))",
      REFERENCE
    ])
    assert.deepEqual(r.window, numpy.trim().split(" ").map(Number))
  }
})

test("tomoprior locate: twice the slice spacing gives scale 2 from the headers; without spacing (TIFF) the scale is searched", async () => {
  const sparse = JSON.parse(
    (await locate(await crop("sparse.nii.gz", 6, 12, 2), "--in", REFERENCE, "--encoder", encoder.dir, "--json")).out
  )
  assert.deepEqual([sparse.offset, sparse.scale, sparse.lastSlice, sparse.scaleFrom], [6, 2, 28, "spacing"])
  const tiff = await locate(await crop("sparse.tif", 6, 12, 2), "--in", REFERENCE, "--encoder", encoder.dir)
  assert.equal(tiff.code, 0, tiff.err)
  assert.match(tiff.out, /\(searched: a header has no spacing\)/)
  const searched = JSON.parse((await locate(join(dir, "sparse.tif"), "--in", REFERENCE, "--encoder", encoder.dir, "--json")).out)
  assert.equal(searched.scaleFrom, "searched")
  assert.ok(Math.abs(searched.scale - 2) < 0.1 && Math.abs(searched.offset - 6) <= 1, JSON.stringify(searched))
})

test("tomoprior locate: bad flags exit 2 with the usage; unreadable inputs exit 1 naming the file and what to do", async () => {
  const scan = join(dir, "crop.nii.gz")
  const usage = [
    [[scan, "--encoder", encoder.dir], /usage error: --in REFERENCE is required/],
    [[scan, "--in", REFERENCE], /usage error: --encoder is required/],
    [["--in", REFERENCE, "--encoder", encoder.dir], /usage error: expected one SCAN/],
    [[scan, "--in", REFERENCE, "--encoder", encoder.dir, "--window", "5,1"], /usage error: --window 5,1: expected LO,HI with LO < HI/],
    [[scan, "--in", REFERENCE, "--encoder", encoder.dir, "--level", "x"], /usage error: --level x: expected a whole number ≥ 0/],
    [[scan, "--in", REFERENCE, "--encoder", encoder.dir, "--bogus"], /usage error: Unknown option '--bogus'/]
  ] as const
  for (const [args, message] of usage) {
    const r = await locate(...args)
    assert.equal(r.code, 2, args.join(" "))
    assert.match(r.err, message)
    assert.match(r.err, /tomoprior locate SCAN --in REFERENCE --encoder ENCODER/)
  }

  mkdirSync(join(dir, "not-an-artifact"))
  mkdirSync(join(dir, "volumes"))
  writeFileSync(join(dir, "volumes", "index.json"), JSON.stringify({ kind: "VolumeSet", volumes: [], labelNames: {} }))
  writeFileSync(join(dir, "p.yaml"), "pipeline: p\nstages: {}\n")
  const one = await crop("one.nii.gz", 3, 1, 1)
  const failures = [
    [["missing.nii.gz", "--in", REFERENCE, "--encoder", encoder.dir], new RegExp(`${dir}/missing\\.nii\\.gz`)],
    [[scan, "--in", REFERENCE, "--encoder", "nowhere"], /nowhere: no such Encoder artifact directory \(or give PIPELINE\.yaml:STAGE\)/],
    [[scan, "--in", REFERENCE, "--encoder", "not-an-artifact"], /not-an-artifact\/index\.json: not an artifact directory/],
    [[scan, "--in", REFERENCE, "--encoder", "volumes"], /volumes\/index\.json: a VolumeSet artifact, expected an Encoder artifact/],
    [
      [scan, "--in", REFERENCE, "--encoder", "p.yaml:pretrain"],
      /no recorded Encoder output of stage pretrain; run the pipeline first \(tomoprior run p\.yaml\)/
    ],
    [
      [one, "--in", REFERENCE, "--encoder", encoder.dir],
      /one\.nii\.gz: too few slices to place \(1 in the scan, 40 in the reference; each needs at least 2\)/
    ]
  ] as const
  for (const [args, message] of failures) {
    const r = await locate(...args)
    assert.equal(r.code, 1, args.join(" "))
    assert.match(r.err, message)
    assert.equal(r.out, "")
  }
})
