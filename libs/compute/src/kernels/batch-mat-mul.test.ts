import assert from "node:assert/strict"
import { before, test } from "node:test"
import * as tf from "@tensorflow/tfjs-core"
import { liveCounts, onBackend, randomValues, relativeError, setupBackends } from "./testing.ts"

const tolerance = 1e-5

before(setupBackends)

test("BatchMatMul with transposes matches cpu (rank 2 and batch-1 rank 3; batched falls back to stock)", async () => {
  const cases: ReadonlyArray<[Array<number>, Array<number>, boolean, boolean]> = [
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[1, 6, 4], [1, 9, 6], true, true],
    [[1, 6, 4], [4, 9], false, false],
    [[2, 6, 4], [2, 6, 3], true, false],
    [[33, 17], [33, 65], true, false]
  ]
  for (const [i, [sa, sb, ta, tb]] of cases.entries()) {
    const run = () => {
      const a = tf.tensor(
        randomValues(
          sa.reduce((x, y) => x * y),
          i + 1
        ),
        sa
      )
      const b = tf.tensor(
        randomValues(
          sb.reduce((x, y) => x * y),
          i + 50
        ),
        sb
      )
      const c = tf.matMul(a, b, ta, tb)
      tf.dispose([a, b])
      return c
    }
    const wasm = await onBackend("wasm", run)
    const cpu = await onBackend("cpu", run)
    assert.deepEqual(wasm.shape, cpu.shape, `${sa} ${sb} ${ta} ${tb}`)
    assert.ok(relativeError(wasm.values, cpu.values) <= tolerance, `${sa} ${sb} ${ta} ${tb}`)
  }
})

test("dense-layer gradients (transposed products) match cpu and leak nothing", async () => {
  const run = (which: number) => () => {
    const x = tf.tensor2d(randomValues(8 * 12, 3), [8, 12])
    const w = tf.tensor2d(randomValues(12 * 5, 4), [12, 5])
    const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q))))([x, w])
    tf.dispose([x, w, g[1 - which]])
    return g[which]
  }
  for (const which of [0, 1]) {
    assert.ok(relativeError((await onBackend("wasm", run(which))).values, (await onBackend("cpu", run(which))).values) <= tolerance)
  }
  await tf.setBackend("wasm")
  tf.dispose(run(0)())
  const start = liveCounts()
  for (let i = 0; i < 3; i++) tf.dispose(run(i % 2)())
  assert.deepEqual(liveCounts(), start)
})
