import { it } from "node:test"
import assert from "node:assert/strict"
import * as tf from "@tensorflow/tfjs-core"
import "@tensorflow/tfjs-backend-cpu"
import { encoderPrefix } from "../models/zoo.ts"
import rankingTask from "./tasks/ranking.ts"
import { Replica } from "./replica.ts"
import type { BackendInfo } from "@tomoprior/core"

const backend: BackendInfo = {
  backend: "cpu",
  requested: "cpu",
  reason: "test",
  threads: 1,
  version: tf.version_core,
  kernels: [],
  summary: "cpu"
}

it("frozen layers keep their weights and thaw into the same parameter layout", async () => {
  await tf.setBackend("cpu")
  const n = 4
  const size = 8
  const task = await rankingTask({ width: 0.25, depth: 1, inputSize: size, margin: 0.2 }, { seed: 1, backend })
  const encoder = task.model.layers.filter((l) => l.name.startsWith(encoderPrefix))
  encoder.forEach((l) => (l.trainable = false))
  const replica = new Replica(task, { lr: 1e-2 })
  const input = {
    partition: { index: 0, count: 1, offset: 0, size: n },
    data: Float32Array.from({ length: n * size * size }, (_, i) => Math.sin(i)),
    shape: [n, size, size, 1] as const
  }
  const context = { meta: { positions: [0, 1, 2, 3] }, targets: undefined, step: 0 }
  const slot = new Float32Array(replica.slotSize)
  const stem = () => task.model.getLayer(`${encoderPrefix}stem_conv`).getWeights()[0].dataSync().slice()
  const head = () => task.model.getLayer("score_map").getWeights()[0].dataSync().slice()
  const [stem0, head0] = [stem(), head()]

  replica.gradients([input], 1, context, slot)
  replica.apply(slot)
  assert.deepEqual(stem(), stem0)
  assert.notDeepEqual(head(), head0)

  encoder.forEach((l) => (l.trainable = true))
  replica.gradients([input], 1, context, slot)
  replica.apply(slot)
  assert.notDeepEqual(stem(), stem0)
  assert.equal(replica.getState().names.length, replica.params.length)
})
