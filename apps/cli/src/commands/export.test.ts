import assert from "node:assert/strict"
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { test } from "node:test"
import { Effect } from "effect"
import * as ort from "onnxruntime-web"
import { computeLayer } from "@tomoprior/compute"
import { constantSegmenter, untrainedEncoder } from "@tomoprior/compute/testing"
import { Compute } from "@tomoprior/core"
import { tempDir } from "@tomoprior/testkit"
import { main } from "../main.ts"
import { captureIo as capture } from "../testing.ts"

const SIZE = 32
const dir = tempDir("tomoprior-export-")
ort.env.wasm.numThreads = 1
const encoder = await Effect.runPromise(untrainedEncoder("sorting", SIZE))
const segmenter = await Effect.runPromise(
  constantSegmenter(2, SIZE, {
    pretraining: "sorting",
    numClasses: 3,
    labelNames: { "0": "background", "1": "lungs", "2": "heart" },
    fraction: 1,
    everyK: null,
    seed: 1,
    trainingSlices: [],
    trainVolumes: [],
    heldOutVolumes: []
  })
)

const exportModel = async (...args: ReadonlyArray<string>) => {
  const c = capture(dir)
  const code = await main(["export", ...args, "--backend", "wasm"], c.io)
  return { code, out: c.out(), err: c.err() }
}

/** Three slices of a smooth pattern in [0, 1]. */
const slices = Float32Array.from({ length: 3 * SIZE * SIZE }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.07) * Math.cos(i * 0.013))

const onnxOutput = async (file: string) => {
  const session = await ort.InferenceSession.create(file)
  try {
    return (await session.run({ input: new ort.Tensor("float32", slices, [3, 1, SIZE, SIZE]) })).output
  } finally {
    await session.release()
  }
}

test("tomoprior export writes an Encoder as ONNX whose scores in onnxruntime are tomoprior's", async () => {
  const r = await exportModel(encoder.dir, "--onnx", "encoder.onnx")
  assert.equal(r.code, 0, r.err)
  assert.match(
    r.out,
    new RegExp(
      `wrote ${dir}/encoder\\.onnx \\([\\d.]+ [KM]iB, ONNX opset 17\\): Encoder .* \\(pre-trained by sorting\\), input "input" \\[N, 1, 32, 32\\] NCHW`
    )
  )
  const got = await onnxOutput(join(dir, "encoder.onnx"))
  const want = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const model = yield* (yield* Compute).encoderModel(join(encoder.dir, "model"), SIZE)
        return yield* model.encode({ data: slices, count: 3, height: SIZE, width: SIZE })
      })
    ).pipe(Effect.provide(computeLayer({ backend: "wasm", threads: 1 })))
  )
  assert.deepEqual(got.dims, [3, 1])
  want.outputs.forEach((o, n) => assert.ok(Math.abs((got.data as Float32Array)[n] - o[0]) <= 1e-5 * (1 + Math.abs(o[0])), `slice ${n}`))
})

test("tomoprior export writes a Segmenter as ONNX: NCHW logits whose argmax is the segmenter's class", async () => {
  const r = await exportModel(segmenter.dir, "--onnx", "seg.onnx", "--json")
  assert.equal(r.code, 0, r.err)
  const written = JSON.parse(r.out)
  assert.deepEqual(
    [written.kind, written.trained, written.inputSize, written.out],
    ["Segmenter", "fine-tuned from sorting, 3 classes", SIZE, join(dir, "seg.onnx")]
  )
  const logits = await onnxOutput(written.out)
  assert.deepEqual(logits.dims, [3, 3, SIZE, SIZE])
  const data = logits.data as Float32Array
  const plane = SIZE * SIZE
  for (let n = 0; n < 3; n++)
    for (let i = 0; i < plane; i++) {
      const at = (k: number) => data[(n * 3 + k) * plane + i]
      assert.ok(at(2) > at(0) && at(2) > at(1), `slice ${n} pixel ${i}`)
    }
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes("partial")),
    []
  )
})

test("tomoprior export: bad flags exit 2 with the usage; a wrong or missing model exits 1 naming the file, writing nothing", async () => {
  const usage = [
    [["--onnx", "x.onnx"], /usage error: expected one MODEL/],
    [[encoder.dir], /usage error: --onnx OUT\.onnx is required/],
    [[encoder.dir, "--onnx", "x.onnx", "--bogus"], /usage error: Unknown option '--bogus'/]
  ] as const
  for (const [args, message] of usage) {
    const r = await exportModel(...args)
    assert.equal(r.code, 2, args.join(" "))
    assert.match(r.err, message)
    assert.match(r.err, /tomoprior export MODEL --onnx OUT\.onnx/)
  }
  mkdirSync(join(dir, "volumes"))
  writeFileSync(join(dir, "volumes", "index.json"), JSON.stringify({ kind: "VolumeSet", volumes: [], labelNames: {} }))
  const failures = [
    [["nowhere", "--onnx", "a.onnx"], /nowhere: no such Encoder or Segmenter artifact directory/],
    [["volumes", "--onnx", "b.onnx"], /volumes\/index\.json: a VolumeSet artifact, expected an Encoder or Segmenter artifact/],
    [[encoder.dir, "--onnx", "no/such/dir/c.onnx"], new RegExp(`${dir}/no/such/dir/c\\.onnx: cannot write`)]
  ] as const
  for (const [args, message] of failures) {
    const r = await exportModel(...args)
    assert.equal(r.code, 1, args.join(" "))
    assert.match(r.err, message)
    assert.equal(r.out, "")
  }
  for (const f of ["a.onnx", "b.onnx"]) assert.ok(!existsSync(join(dir, f)), f)
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes("partial")),
    []
  )
})
