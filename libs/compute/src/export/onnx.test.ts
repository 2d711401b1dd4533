import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import type * as tfl from "@tensorflow/tfjs-layers"
import * as ort from "onnxruntime-web"
import { Effect } from "effect"
import { initBackend } from "../backend/init.ts"
import { buildProjectionModel, buildScoreModel, buildUNet } from "../models/heads.ts"
import { defaultEncoderSpec } from "../models/zoo.ts"
import { layersModelToOnnx } from "./onnx.ts"

const SIZE = 32
const PYTHON = "/usr/bin/python3"

await Effect.runPromise(initBackend({ backend: "wasm" }, { log: () => {} }))
// onnxruntime's own WebAssembly build, single-threaded: an inference engine tomoprior shares nothing with
ort.env.wasm.numThreads = 1

/** A deterministic stream in [0, 1). */
const random = (seed: number) => () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
  return seed / 2 ** 32
}

/**
 * Every weight set to seeded noise (variances and scales around 1, shifts positive so ReLUs pass
 * something), so batch norms, biases and every
 * kernel position matter: an exporter that mixed up an axis or a statistic cannot agree by chance.
 */
const scramble = (model: tfl.LayersModel, seed: number) => {
  const next = random(seed)
  for (const layer of model.layers) {
    const values = layer.weights.map((w) => {
      const shape = w.shape as Array<number>
      const n = shape.reduce((a, b) => a * b, 1)
      // tfjs numbers a reused weight name: enc_stem_bn/moving_variance_1
      const role = w.name.replace(/_\d+$/, "").split("/").at(-1)
      const draw = () =>
        role === "moving_variance" || role === "gamma" ? 0.5 + next() : role === "beta" ? 0.3 * next() : 0.6 * (next() - 0.5)
      return tf.tensor(Float32Array.from({ length: n }, draw), shape)
    })
    if (values.length > 0) layer.setWeights(values)
    tf.dispose(values)
  }
}

/** `count` slices with structure in x, y and slice. */
const slices = (count: number) =>
  Float32Array.from({ length: count * SIZE * SIZE }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.173) * Math.cos(Math.floor(i / SIZE) * 0.31))

/** NHWC → NCHW for a 4-D array. */
const toChannelsFirst = (x: Float32Array, [n, h, w, c]: ReadonlyArray<number>) => {
  const y = new Float32Array(x.length)
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) y[(b * c + k) * h * w + i] = x[(b * h * w + i) * c + k]
  return y
}

const encoderSpec = { ...defaultEncoderSpec, width: 0.25, inputSize: SIZE, seed: 5 }
const MODELS: ReadonlyArray<readonly [string, () => tfl.LayersModel]> = [
  ["sorting score model", () => buildScoreModel(encoderSpec)],
  ["SimCLR projection model (dense + batch norm on the pooled features)", () => buildProjectionModel(encoderSpec, 16)],
  [
    "U-Net, transposed-conv upsampling, additive skips",
    () => buildUNet({ encoder: encoderSpec, numClasses: 3, upsample: "transpose", skip: "add" })
  ],
  [
    "U-Net, nearest upsampling, concatenated skips",
    () => buildUNet({ encoder: { ...encoderSpec, depth: 2 }, numClasses: 4, upsample: "nearest", skip: "concat" })
  ]
]

for (const [what, build] of MODELS) {
  test(`ONNX export of a ${what}: onnxruntime's outputs on 3 slices equal tfjs' within 1e-5 of their range`, async () => {
    const model = build()
    scramble(model, what.length)
    const count = 3
    const data = slices(count)
    const want = tf.tidy(() => {
      const y = model.predict(tf.tensor4d(data, [count, SIZE, SIZE, 1])) as tf.Tensor
      return { values: y.dataSync() as Float32Array, shape: y.shape }
    })
    const bytes = layersModelToOnnx(model, { inputSize: SIZE, producerVersion: "test", metadata: { method: "test" } })
    model.dispose()
    const session = await ort.InferenceSession.create(bytes)
    try {
      assert.deepEqual(session.inputNames, ["input"])
      assert.deepEqual(session.outputNames, ["output"])
      const result = await session.run({ input: new ort.Tensor("float32", data, [count, 1, SIZE, SIZE]) })
      const got = result.output
      const expected = want.shape.length === 4 ? toChannelsFirst(want.values, want.shape) : want.values
      assert.deepEqual(got.dims, want.shape.length === 4 ? [count, want.shape[3], SIZE, SIZE] : want.shape)
      const values = got.data as Float32Array
      // float32 sums in another order: differences scale with the output's magnitude
      const scale = Math.max(...Array.from(expected, Math.abs))
      let worst = 0
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(values[i] - expected[i]))
      assert.ok(worst <= 1e-5 * scale, `largest difference ${worst}, outputs up to ${scale}`)
      // the outputs vary: the comparison is not between two constants
      assert.ok(new Set(expected).size > expected.length / 10, `${new Set(expected).size} distinct values of ${expected.length}`)
    } finally {
      await session.release()
    }
    const checker = spawnSync(PYTHON, ["-c", "import onnx"], { stdio: "ignore" })
    if (checker.status === 0) {
      // Debian's onnx (1.12) checks the graph against the specification, shapes inferred throughout
      const file = join(mkdtempSync(join(tmpdir(), "tomoprior-onnx-")), "model.onnx")
      writeFileSync(file, bytes)
      const r = spawnSync(PYTHON, ["-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", file], {
        encoding: "utf8"
      })
      assert.equal(r.status, 0, r.stderr)
    }
  })
}
