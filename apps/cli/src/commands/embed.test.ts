import assert from "node:assert/strict"
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import { untrainedEncoder } from "@tomoprior/compute/testing"
import { hasPythonModules, PYTHON, run, tempDir } from "@tomoprior/testkit"
import { captureIo as capture } from "../testing.ts"
import { main } from "../main.ts"

const SIZE = 32
const dir = tempDir("tomoprior-embed-")
const encoder = await Effect.runPromise(untrainedEncoder("sorting", SIZE))
await main(["phantom", "--out", ".", "--volumes", "2", "--size", String(SIZE), "--slices", "20", "--seed", "2"], capture(dir).io)
const VOLUMES = [join(dir, "torso-000.nii.gz"), join(dir, "torso-001.nii.gz")]

const embed = async (...args: ReadonlyArray<string>) => {
  const c = capture(dir)
  const code = await main(["embed", ...args, "--backend", "wasm"], c.io)
  return { code, out: c.out(), err: c.err() }
}

/** numpy's view of the output: each .npy's dtype and shape, its values, the CSV's values, and the window from numpy's percentiles. */
const NUMPY_READS = `
import csv, json, sys
import numpy as np, nibabel
out, volumes = sys.argv[1], sys.argv[2:]
index = json.load(open(out + "/index.json"))
r = {"arrays": [], "windows": []}
for v in index["volumes"]:
    e, s = np.load(out + "/" + v["embeddings"]), np.load(out + "/" + v["scores"])
    r["arrays"].append({"e": [str(e.dtype), list(e.shape)], "s": [str(s.dtype), list(s.shape)],
                        "rows": e.astype(float).tolist(), "scores": s.astype(float).tolist()})
for f in volumes:
    x = np.asarray(nibabel.load(f).dataobj).ravel()
    r["windows"].append(np.percentile(x, [1, 99.5], method="lower").tolist())
rows = list(csv.reader(open(out + "/embeddings.csv")))
r["csv"] = [[c[0]] + [float(x) for x in c[1:]] for c in rows[1:]]
print(json.dumps(r))
`

test("tomoprior embed writes each volume's embeddings and scores as .npy numpy reads, and one CSV that agrees with them", async (t) => {
  const r = await embed(...VOLUMES, "--encoder", encoder.dir, "--out", "emb", "--json")
  assert.equal(r.code, 0, r.err)
  const index = JSON.parse(r.out)
  assert.deepEqual(
    index.volumes.map((v: { id: string; slices: number; scores: string }) => [v.id, v.slices, v.scores]),
    [
      ["torso-000", 20, "torso-000/scores.npy"],
      ["torso-001", 20, "torso-001/scores.npy"]
    ]
  )
  assert.equal(index.out, join(dir, "emb"))
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes("partial")),
    []
  )
  const text = await embed(VOLUMES[0], "--encoder", encoder.dir, "--out", "emb-text")
  assert.equal(text.code, 0, text.err)
  assert.match(
    text.out,
    new RegExp(`torso-000: 20 slices → ${dir}/emb-text/torso-000/embeddings\\.npy \\[20, ${index.dims}\\], .*scores\\.npy`)
  )
  assert.match(text.out, /every slice: .*embeddings\.csv \(PC1 and PC2 of the embeddings explain [\d.]+ % and [\d.]+ % of the variance\)/)
  if (!hasPythonModules("numpy", "nibabel")) return t.skip("Debian's python3-numpy / python3-nibabel are not installed")
  const read = JSON.parse(run(PYTHON, ["-c", NUMPY_READS, join(dir, "emb"), ...VOLUMES]))
  let row = 0
  for (const [n, a] of read.arrays.entries()) {
    assert.deepEqual(a.e, ["float32", [20, index.dims]])
    assert.deepEqual(a.s, ["float32", [20]])
    // each volume windowed by its own 1st–99.5th percentiles, as numpy has them
    assert.deepEqual(index.windows[n], read.windows[n])
    for (let z = 0; z < 20; z++, row++) {
      const cells = read.csv[row]
      assert.deepEqual(cells.slice(0, 2), [`torso-00${n}`, z])
      assert.ok(Math.abs(cells[3] - a.scores[z]) <= 1e-6 * (1 + Math.abs(a.scores[z])), "CSV score")
      a.rows[z].forEach((x: number, j: number) => assert.ok(Math.abs(cells[6 + j] - x) <= 1e-6 * (1 + Math.abs(x)), `CSV e${j}`))
    }
    // the scores differ from slice to slice: real encodings, not a constant
    assert.ok(new Set(a.scores).size > 10)
  }
  assert.equal(row, read.csv.length)
})

test("tomoprior embed: bad flags exit 2 with the usage; unreadable inputs exit 1 naming the file", async () => {
  const usage = [
    [["--encoder", encoder.dir, "--out", "x"], /usage error: expected at least one VOLUME/],
    [[VOLUMES[0], "--out", "x"], /usage error: --encoder is required/],
    [[VOLUMES[0], "--encoder", encoder.dir], /usage error: --out DIR is required/],
    [[VOLUMES[0], "--encoder", encoder.dir, "--out", "x", "--batch", "0"], /usage error: --batch 0: expected a whole number ≥ 1/],
    [[VOLUMES[0], "--encoder", encoder.dir, "--out", "x", "--window", "1,1"], /usage error: --window 1,1: expected LO,HI with LO < HI/],
    [[VOLUMES[0], "--encoder", encoder.dir, "--out", "x", "--bogus"], /usage error: Unknown option '--bogus'/]
  ] as const
  for (const [args, message] of usage) {
    const r = await embed(...args)
    assert.equal(r.code, 2, args.join(" "))
    assert.match(r.err, message)
    assert.match(r.err, /tomoprior embed VOLUME\.\.\. --encoder ENCODER --out DIR/)
  }
  mkdirSync(join(dir, "full"))
  writeFileSync(join(dir, "full", "keep.txt"), "mine")
  writeFileSync(join(dir, "junk.nii.gz"), "not a volume")
  const failures = [
    [[join(dir, "missing.nii.gz"), "--encoder", encoder.dir, "--out", "f1"], new RegExp(`${dir}/missing\\.nii\\.gz`)],
    [[join(dir, "junk.nii.gz"), "--encoder", encoder.dir, "--out", "f2"], new RegExp(`${dir}/junk\\.nii\\.gz`)],
    [[VOLUMES[0], "--encoder", "nowhere", "--out", "f3"], /nowhere: no such Encoder artifact directory/],
    [[VOLUMES[0], "--encoder", encoder.dir, "--out", "full"], /full: --out exists and is not empty; give a new or empty directory/]
  ] as const
  for (const [args, message] of failures) {
    const r = await embed(...args)
    assert.equal(r.code, 1, args.join(" "))
    assert.match(r.err, message)
    assert.equal(r.out, "")
  }
  // nothing written for the failed runs, the existing directory untouched
  for (const f of ["f1", "f2", "f3"]) assert.ok(!existsSync(join(dir, f)), f)
  assert.deepEqual(readdirSync(join(dir, "full")), ["keep.txt"])
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes("partial")),
    []
  )
})
