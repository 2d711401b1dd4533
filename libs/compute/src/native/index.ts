import type { TensorInfo } from "@tensorflow/tfjs-core"
import { loadNative, type NativeAddon } from "@tomoprior/native"
import { setAdamKernel } from "../parallel/adam.ts"
import { nativeAdam } from "./adam.ts"
import { batchNormBackward, batchNormForward } from "./batch-norm.ts"
import { concat, splitV } from "./concat.ts"
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput, fusedConv2d } from "./conv.ts"
import { elementwiseKernels, softmax } from "./elementwise.ts"
import { batchMatMul, fusedMatMul } from "./matmul.ts"
import { maxPool, maxPoolGrad } from "./pool.ts"
import { reduceKernels } from "./reduce.ts"
import { resizeKernels } from "./resize.ts"
import { registerNativeKernels, type KernelArgs, type NativeKernel } from "./registry.ts"

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
  batchNormBackward,
  ...elementwiseKernels,
  softmax,
  ...reduceKernels,
  ...resizeKernels,
  maxPool,
  maxPoolGrad,
  concat,
  splitV
]

/**
 * Registers the native kernels over the wasm backend's (call after the project's wasm kernels),
 * and the trainer's Adam update. Returns the kernel names.
 */
export const registerNative = (addon: NativeAddon): ReadonlyArray<string> => {
  setAdamKernel(nativeAdam(addon))
  return [...registerNativeKernels(addon, nativeKernels), "Adam"]
}

/**
 * One native kernel as a kernelFunc on the wasm backend, without registering it (benchmarks time
 * it against the registered one); undefined when the addon is not built or has no such kernel.
 */
export const nativeKernelFunc = (name: string): ((args: KernelArgs) => TensorInfo | ReadonlyArray<TensorInfo>) | undefined => {
  const load = loadNative()
  const kernel = nativeKernels.find((k) => k.name === name)
  if ("unavailable" in load || kernel === undefined) return undefined
  return (args) => {
    const out = kernel.run(load.addon, args)
    if (typeof out === "string") throw new Error(`native ${name} does not take this configuration: ${out}`)
    return out
  }
}
