import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from "@tensorflow/tfjs-core"
import { conv2dBackpropFilterConfig } from "./conv2d-backprop-filter.ts"
import { captureOriginals } from "./wasm-ops.ts"

export { conv2dBackpropFilter } from "./conv2d-backprop-filter.ts"

/** Every kernel the project registers for the wasm backend, replacing the stock one if any. */
export const projectKernels: ReadonlyArray<KernelConfig> = [conv2dBackpropFilterConfig]

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
