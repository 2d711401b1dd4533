import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from "@tensorflow/tfjs-core"
import { batchMatMulConfig } from "./batch-mat-mul.ts"
import { conv2dBackpropFilterConfig } from "./conv2d-backprop-filter.ts"
import { conv2dBackpropInputConfig } from "./conv2d-backprop-input.ts"
import { castConfig, identityConfig } from "./identity.ts"
import { maxPoolGradConfig } from "./max-pool-grad.ts"
import { meanConfig, sumConfig } from "./reduce.ts"
import { resizeNearestNeighborGradConfig } from "./resize-nearest-grad.ts"
import { sliceConfig, splitVConfig } from "./slice.ts"
import { tileConfig } from "./tile.ts"
import { captureOriginals } from "./wasm-ops.ts"

export { batchMatMul } from "./batch-mat-mul.ts"
export { conv2dBackpropFilter } from "./conv2d-backprop-filter.ts"
export { conv2dBackpropInput } from "./conv2d-backprop-input.ts"
export { cast, identity } from "./identity.ts"
export { maxPoolGrad } from "./max-pool-grad.ts"
export { mean, sum } from "./reduce.ts"
export { resizeNearestNeighborGrad } from "./resize-nearest-grad.ts"
export { slice, sliceBox, splitV } from "./slice.ts"
export { tile } from "./tile.ts"
export { matmulGflops, medianSeconds, parallelMatmulGflops } from "./measure.ts"
export { stockKernel } from "./wasm-ops.ts"

/** Every kernel the project registers for the wasm backend, replacing the stock one if any. */
export const projectKernels: ReadonlyArray<KernelConfig> = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  maxPoolGradConfig,
  tileConfig,
  sliceConfig,
  splitVConfig,
  sumConfig,
  meanConfig,
  identityConfig,
  castConfig,
  batchMatMulConfig,
  resizeNearestNeighborGradConfig
]

/**
 * Registers the project's wasm kernels (idempotent). The stock kernels they replace are captured
 * first, because our kernels are composed of them. Returns the kernel names.
 */
export const registerProjectKernels = (): ReadonlyArray<string> => {
  captureOriginals(projectKernels.map((k) => k.kernelName))
  for (const config of projectKernels) {
    if (getKernel(config.kernelName, "wasm") !== undefined) unregisterKernel(config.kernelName, "wasm")
    registerKernel(config)
  }
  return projectKernels.map((k) => k.kernelName)
}
