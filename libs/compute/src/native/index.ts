import type { NativeAddon } from "@tomoprior/native"
import { batchNormBackward, batchNormForward } from "./batch-norm.ts"
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput, fusedConv2d } from "./conv.ts"
import { batchMatMul, fusedMatMul } from "./matmul.ts"
import { registerNativeKernels, type NativeKernel } from "./registry.ts"

export { nativeKernelCounts, resetNativeKernelCounts, type NativeKernelCount } from "./registry.ts"

/** Every kernel the native backend runs on oneDNN or the addon's own loops. */
export const nativeKernels: ReadonlyArray<NativeKernel> = [
  conv2d,
  fusedConv2d,
  conv2dBackpropInput,
  conv2dBackpropFilter,
  batchMatMul,
  fusedMatMul,
  batchNormForward,
  batchNormBackward
]

/** Registers the native kernels over the wasm backend's (call after the project's wasm kernels). */
export const registerNative = (addon: NativeAddon): ReadonlyArray<string> => registerNativeKernels(addon, nativeKernels)
