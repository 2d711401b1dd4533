import assert from "node:assert/strict"
import { test } from "node:test"
import { kernelCountsLine } from "./compute.ts"

test("kernelCountsLine sums workers, names each kernel that fell back with its reasons, and is silent when none ran", () => {
  assert.equal(kernelCountsLine([]), undefined)
  assert.equal(kernelCountsLine([{}, {}]), undefined)
  assert.equal(
    kernelCountsLine([{ Conv2D: { native: 5, fallback: 0, reasons: [] } }, { Conv2D: { native: 5, fallback: 0, reasons: [] } }]),
    "native kernels: 10 calls, no fallbacks"
  )
  assert.equal(
    kernelCountsLine([
      { Conv2D: { native: 4, fallback: 1, reasons: ["NCHW data format"] }, BatchMatMul: { native: 3, fallback: 0, reasons: [] } },
      { Conv2D: { native: 4, fallback: 2, reasons: ["NCHW data format", "activation prelu"] } }
    ]),
    "native kernels: 14 calls, 3 fell back to wasm: Conv2D 3× (NCHW data format; activation prelu)"
  )
})
