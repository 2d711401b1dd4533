import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect, Schema } from "effect"
import { Compute, EmbeddingsIndex } from "@tomoprior/core"
import { checkParamsTable, hasPythonModules, PYTHON, run, runStageForTest, SIZE, tinyVolumeSet } from "@tomoprior/testkit"
import { openVolume, readVolumeSet } from "@tomoprior/volume"
import { untrainedEncoder } from "@tomoprior/compute/testing"
import { computeLayer } from "@tomoprior/compute"
import { EmbedParams } from "./params.ts"
import { embedStage } from "./stage.ts"

const compute = computeLayer({ backend: "wasm", threads: 1 })

/** numpy's reading of the artifact: each volume's .npy arrays, the CSV, and a PCA by numpy's own SVD. */
const NUMPY_READS = `
import csv, json, sys
import numpy as np
root, index = sys.argv[1], json.load(open(sys.argv[1] + "/index.json"))
out = {"volumes": []}
for v in index["volumes"]:
    e = np.load(root + "/" + v["embeddings"])
    s = np.load(root + "/" + v["scores"]) if "scores" in v else None
    out["volumes"].append({"dtype": str(e.dtype), "shape": list(e.shape), "embeddings": e.astype(float).tolist(),
                           "scores": None if s is None else {"dtype": str(s.dtype), "shape": list(s.shape), "values": s.astype(float).tolist()}})
rows = list(csv.reader(open(root + "/" + index["csv"])))
out["csvHead"], out["csvRows"] = rows[0], [[r[0]] + [float(x) for x in r[1:]] for r in rows[1:]]
x = np.concatenate([np.load(root + "/" + v["embeddings"]).astype(np.float64) for v in index["volumes"]])
x -= x.mean(axis=0)
u, sv, vt = np.linalg.svd(x, full_matrices=False)
out["pca"] = (x @ vt[:2].T).tolist()
out["explained"] = (sv[:2] ** 2 / (sv ** 2).sum()).tolist()
print(json.dumps(out))
`

/** The model's own encoding of every stored slice, one batch per volume: what the stage's files must hold. */
const expected = (volumesDir: string, modelDir: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const model = yield* (yield* Compute).encoderModel(modelDir, SIZE)
      const set = yield* readVolumeSet(volumesDir)
      const out = []
      for (const v of set.volumes) {
        const h = yield* openVolume(v.dir)
        const [depth, height, width] = h.header.dims
        const data = new Float32Array(depth * height * width)
        for (let z = 0; z < depth; z++) data.set(h.readSlice(z), z * height * width)
        out.push(yield* model.encode({ data, count: depth, height, width }))
      }
      return out
    })
  ).pipe(Effect.provide(compute))

const close = (got: number, want: number, what: string, tolerance = 1e-6) =>
  assert.ok(Math.abs(got - want) <= tolerance * (1 + Math.abs(want)), `${what}: ${got} vs ${want}`)

for (const method of ["sorting", "simclr"] as const) {
  const files = method === "sorting" ? "embeddings and scores" : "embeddings"
  test(`embed (${method} encoder): numpy reads each volume's ${files}, the CSV agrees, the projection is numpy's PCA`, async (t) => {
    if (!hasPythonModules("numpy")) return t.skip("Debian's python3-numpy is not installed")
    const volumes = await Effect.runPromise(tinyVolumeSet(2))
    const encoder = await Effect.runPromise(untrainedEncoder(method, SIZE))
    const tf = await import("@tensorflow/tfjs-core")
    const once = () => Effect.runPromise(runStageForTest(embedStage, { params: {}, inputs: { encoder, volumes }, compute }))
    await once()
    const before = tf.memory().numTensors
    const { outputs } = await once()
    assert.equal(tf.memory().numTensors, before)
    const dir = outputs.embeddings.dir
    const index = Schema.decodeUnknownSync(EmbeddingsIndex)(JSON.parse(readFileSync(join(dir, "index.json"), "utf8")))
    const want = await Effect.runPromise(expected(volumes.dir, join(encoder.dir, "model")))
    const read = JSON.parse(run(PYTHON, ["-c", NUMPY_READS, dir])) as {
      volumes: Array<{
        dtype: string
        shape: Array<number>
        embeddings: Array<Array<number>>
        scores: null | { dtype: string; shape: Array<number>; values: Array<number> }
      }>
      csvHead: Array<string>
      csvRows: Array<[string, ...Array<number>]>
      pca: Array<[number, number]>
      explained: [number, number]
    }
    const dims = want[0].features![0].length
    assert.ok(dims > 2)
    assert.equal(index.dims, dims)
    assert.deepEqual(
      index.volumes.map((v) => [v.id, v.slices]),
      [
        ["v0", 18],
        ["v1", 21]
      ]
    )
    let row = 0
    for (const [n, v] of read.volumes.entries()) {
      const encoding = want[n]
      assert.equal(v.dtype, "float32")
      assert.deepEqual(v.shape, [index.volumes[n].slices, dims])
      v.embeddings.forEach((e, z) => e.forEach((x, j) => assert.equal(x, encoding.features![z][j], `v${n} slice ${z} e${j}`)))
      if (method === "sorting") {
        assert.equal(v.scores?.dtype, "float32")
        assert.deepEqual(v.scores?.shape, [index.volumes[n].slices])
        v.scores!.values.forEach((s, z) => assert.equal(s, encoding.outputs[z][0], `v${n} slice ${z} score`))
      } else assert.equal(v.scores, null)
      for (let z = 0; z < v.embeddings.length; z++, row++) {
        const cells = read.csvRows[row]
        const scored = method === "sorting" ? 1 : 0
        assert.deepEqual(cells.slice(0, 2), [`v${n}`, z])
        close(cells[2] as number, z / (v.embeddings.length - 1), "position")
        if (scored) close(cells[3] as number, v.scores!.values[z], "CSV score")
        v.embeddings[z].forEach((x, j) => close(cells[5 + scored + j] as number, x, `CSV e${j}`, 1e-8))
        // PCA components are defined up to sign: compare with the sign of numpy's first row
        for (const k of [0, 1]) {
          const sign = Math.sign(read.pca[0][k]) * Math.sign(index.volumes[0].projection[0][k])
          close(index.volumes[n].projection[z][k], sign * read.pca[row][k], `PC${k + 1} of v${n} slice ${z}`, 1e-4)
          close(cells[3 + scored + k] as number, index.volumes[n].projection[z][k], `CSV pc${k + 1}`, 1e-8)
        }
      }
    }
    assert.equal(row, read.csvRows.length)
    assert.deepEqual(read.csvHead.slice(0, method === "sorting" ? 6 : 5), [
      "volume",
      "slice",
      "position",
      ...(method === "sorting" ? ["score"] : []),
      "pc1",
      "pc2"
    ])
    index.explainedVariance.forEach((v, k) => close(v, read.explained[k], `explained variance of PC${k + 1}`, 1e-4))
  })
}

test("the README's parameter table is the schema's", () => {
  checkParamsTable(new URL("../README.md", import.meta.url), EmbedParams)
})
