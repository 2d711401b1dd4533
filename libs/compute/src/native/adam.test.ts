import assert from "node:assert/strict"
import { test } from "node:test"
import { loadNative } from "@tomoprior/native"
import { randomValues } from "../kernels/testing.ts"
import { Adam, setAdamKernel } from "../parallel/adam.ts"
import { nativeAdam } from "./adam.ts"
import { nativeSkip } from "./testing.ts"

const skip = nativeSkip

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length)

/** `steps` Adam updates of the same weights and gradients, on the JavaScript loop or the addon. */
const train = (
  native: boolean,
  size: number,
  ranges: ReadonlyArray<{ start: number; end: number }>,
  weightDecay: number,
  grads: Float32Array
) => {
  const load = loadNative()
  setAdamKernel(native && "addon" in load ? nativeAdam(load.addon) : undefined)
  try {
    const adam = new Adam({ lr: 3e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay }, size)
    const weights = randomValues(size, 5)
    for (let step = 0; step < 4; step++) {
      const g = grads.map((x, i) => x * (1 + step) * (i % 7 === 0 ? 1e-6 : 1))
      adam.update(weights, g, ranges, 3e-3 / (1 + step))
    }
    return { weights, m: adam.m, v: adam.v }
  } finally {
    setAdamKernel(undefined)
  }
}

test(
  "native Adam updates are bitwise those of the JavaScript loop (several ranges, gaps, weight decay, multi-threaded sizes)",
  { skip },
  () => {
    for (const [size, ranges, decay] of [
      [10, [{ start: 0, end: 10 }], 0],
      [
        1000,
        [
          { start: 0, end: 300 },
          { start: 300, end: 450 },
          { start: 600, end: 999 }
        ],
        1e-4
      ],
      [200_003, [{ start: 1, end: 200_003 }], 0.01]
    ] as const) {
      const grads = randomValues(size, 9)
      // Gradients of a slot travel in shared memory between worker threads.
      const shared = new Float32Array(new SharedArrayBuffer(size * 4))
      shared.set(grads)
      const js = train(false, size, ranges, decay, grads)
      const native = train(true, size, ranges, decay, shared)
      for (const k of ["weights", "m", "v"] as const) assert.deepEqual(bits(native[k]), bits(js[k]), `${k} of ${size} parameters`)
      assert.notDeepEqual(bits(js.weights), bits(randomValues(size, 5)), "the weights moved")
    }
  }
)

test("native Adam rejects a range outside its arrays and arrays that are not Float32Array", { skip }, () => {
  const load = loadNative()
  assert.ok("addon" in load)
  const a = new Float32Array(4)
  assert.throws(
    () => load.addon.adam(new ArrayBuffer(0), a, a, a, new Float32Array(3), 0, 4, 1e-3, 0.9, 0.999, 1e-7, 0, 0.1, 0.001),
    /range \[0, 4\) lies outside an array of 3/
  )
  assert.throws(
    () =>
      load.addon.adam(
        new ArrayBuffer(0),
        a,
        new Float64Array(4) as unknown as Float32Array,
        a,
        a,
        0,
        4,
        1e-3,
        0.9,
        0.999,
        1e-7,
        0,
        0.1,
        0.001
      ),
    /grads must be a Float32Array/
  )
})
