import { describe, it, before } from "node:test"
import assert from "node:assert/strict"
import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import "@tensorflow/tfjs-backend-wasm"
import { Effect, Exit } from "effect"
import { defaultEncoderSpec, encoderPrefix, type EncoderSpec } from "../models/zoo.ts"
import { buildScoreModel, buildUNet } from "../models/heads.ts"
import { CheckpointError, type CheckpointMetadata } from "@tomoprior/core"
import { loadCheckpoint, saveCheckpoint, modelFile } from "./checkpoint.ts"
import { transferWeights } from "./transfer.ts"
import { WeightTransferMismatch } from "./errors.ts"

const spec = (over: Partial<EncoderSpec> = {}): EncoderSpec => ({ ...defaultEncoderSpec, width: 0.25, inputSize: 16, seed: 3, ...over })
const metadata: CheckpointMetadata = {
  architecture: "ref-resnet",
  width: 0.25,
  inputSize: 16,
  method: "sorting",
  backend: "cpu",
  steps: 12
}

/** Random weights everywhere, variances positive, so BN moving statistics matter too. */
const randomize = (model: ReturnType<typeof buildScoreModel>, seed: number): void =>
  model.setWeights(
    model.weights.map((w, i) =>
      w.originalName.endsWith("moving_variance")
        ? tf.randomUniform(w.shape as number[], 0.5, 2, "float32", seed + i)
        : tf.randomNormal(w.shape as number[], 0, 0.3, "float32", seed + i)
    )
  )

const failureOf = <E>(exit: Exit.Exit<unknown, E>): E => {
  assert.ok(Exit.isFailure(exit))
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  assert.ok(error !== undefined && error._tag === "Fail")
  return error.error
}

describe("checkpoints", () => {
  before(async () => {
    await tf.setBackend("cpu")
  })

  it("a checkpoint saved on cpu loads on wasm with the same outputs (and back)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ckpt-"))
    const model = buildScoreModel(spec())
    randomize(model, 100)
    const x = tf.randomNormal([2, 16, 16, 1], 0, 1, "float32", 9)
    const onCpu = (model.predict(x) as tf.Tensor).dataSync()
    await Effect.runPromise(saveCheckpoint(model, dir, metadata))

    await tf.setBackend("wasm")
    const loaded = await Effect.runPromise(loadCheckpoint(dir))
    assert.deepEqual(loaded.metadata, metadata)
    const onWasm = (loaded.model.predict(tf.tensor(x.dataSync(), x.shape)) as tf.Tensor).dataSync()
    onCpu.forEach((v, i) => assert.ok(Math.abs(v - onWasm[i]) < 1e-4, `output ${i}: ${v} vs ${onWasm[i]}`))
    const dir2 = await mkdtemp(join(tmpdir(), "ckpt-"))
    await Effect.runPromise(saveCheckpoint(loaded.model, dir2, { ...metadata, backend: "wasm" }))

    await tf.setBackend("cpu")
    const back = await Effect.runPromise(loadCheckpoint(dir2))
    assert.equal(back.metadata.backend, "wasm")
    const again = (back.model.predict(x) as tf.Tensor).dataSync()
    onCpu.forEach((v, i) => assert.ok(Math.abs(v - again[i]) < 1e-4))
  })

  it("a directory without a tomoprior model.json fails with CheckpointError naming the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ckpt-"))
    const missing = failureOf(await Effect.runPromiseExit(loadCheckpoint(dir)))
    assert.ok(missing instanceof CheckpointError && missing.path === join(dir, modelFile))
    await writeFile(join(dir, modelFile), JSON.stringify({ modelTopology: {}, weightsManifest: [] }))
    const foreign = failureOf(await Effect.runPromiseExit(loadCheckpoint(dir)))
    assert.ok(foreign instanceof CheckpointError && foreign.problem.includes("not a tomoprior"))
  })
})

describe("encoder weight transfer", () => {
  it("copies every encoder layer of a score model into a U-Net by name", async () => {
    const pretrained = buildScoreModel(spec())
    randomize(pretrained, 200)
    const unet = buildUNet({ encoder: spec({ seed: 4 }), numClasses: 2, upsample: "transpose", skip: "add" })
    const decoderBefore = unet.getLayer("dec_l1_a_conv").getWeights()[0].dataSync().slice()
    const copied = await Effect.runPromise(transferWeights(pretrained, unet))
    assert.ok(copied.includes(`${encoderPrefix}stem_conv`) && copied.includes(`${encoderPrefix}s4u1_b_bn`))
    for (const name of copied) {
      const a = pretrained.getLayer(name).getWeights()
      const b = unet.getLayer(name).getWeights()
      a.forEach((w, i) => assert.deepEqual(w.dataSync(), b[i].dataSync(), name))
    }
    assert.deepEqual(unet.getLayer("dec_l1_a_conv").getWeights()[0].dataSync(), decoderBefore)
  })

  it("fails with every missing, extra and mismatched name when architectures differ", async () => {
    const narrow = buildScoreModel(spec())
    const wideDeep = buildUNet({ encoder: spec({ width: 0.5, depth: 2 }), numClasses: 2, upsample: "nearest", skip: "concat" })
    const error = failureOf(await Effect.runPromiseExit(transferWeights(narrow, wideDeep)))
    assert.ok(error instanceof WeightTransferMismatch)
    assert.ok(error.missing.includes(`${encoderPrefix}s2u2_a_conv`))
    assert.ok(error.shapeMismatches.some((m) => m.weight === `${encoderPrefix}stem_conv/kernel` && m.source[3] === 4 && m.target[3] === 8))
    const reverse = failureOf(await Effect.runPromiseExit(transferWeights(wideDeep, narrow)))
    assert.ok(reverse.extra.includes(`${encoderPrefix}s2u2_a_conv`))
    assert.match(reverse.message, /not in target/)
  })
})
