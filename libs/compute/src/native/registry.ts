import { getKernel, registerKernel, unregisterKernel, type KernelFunc, type NamedAttrMap, type TensorInfo } from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import type { KernelCount } from "@tomoprior/core"
import { isUnsupported, type NativeAddon } from "@tomoprior/native"

export interface KernelArgs {
  readonly inputs: Record<string, TensorInfo | undefined>
  readonly backend: BackendWasm
  readonly attrs: NamedAttrMap
}

/**
 * A native kernel: its outputs, or why it does not take this configuration (then the kernel that
 * was registered before it runs instead and the fallback is counted).
 */
export interface NativeKernel {
  readonly name: string
  readonly run: (addon: NativeAddon, args: KernelArgs) => TensorInfo | ReadonlyArray<TensorInfo> | string
}

export type NativeKernelCount = KernelCount

const counts = new Map<string, { native: number; fallback: number; reasons: Set<string> }>()

const countOf = (name: string) => {
  let c = counts.get(name)
  if (c === undefined) counts.set(name, (c = { native: 0, fallback: 0, reasons: new Set() }))
  return c
}

/** Calls and fallbacks of every native kernel in this thread since the last reset. */
export const nativeKernelCounts = (): Readonly<Record<string, NativeKernelCount>> =>
  Object.fromEntries([...counts].map(([name, c]) => [name, { native: c.native, fallback: c.fallback, reasons: [...c.reasons] }]))

export const resetNativeKernelCounts = (): void => counts.clear()

const registered = new Set<string>()

/**
 * Registers `kernels` for the wasm backend over whatever is registered now (the stock or the
 * project's kernel, which stays the fallback). Idempotent per kernel name. Returns the names.
 */
export const registerNativeKernels = (addon: NativeAddon, kernels: ReadonlyArray<NativeKernel>): ReadonlyArray<string> => {
  for (const kernel of kernels) {
    if (registered.has(kernel.name)) continue
    const previous = getKernel(kernel.name, "wasm")?.kernelFunc
    if (previous !== undefined) unregisterKernel(kernel.name, "wasm")
    const kernelFunc = (args: Parameters<KernelFunc>[0]) => {
      const c = countOf(kernel.name)
      let result: TensorInfo | ReadonlyArray<TensorInfo> | string
      try {
        result = kernel.run(addon, args as unknown as KernelArgs)
      } catch (e) {
        if (!isUnsupported(e)) throw e
        result = (e as Error).message
      }
      if (typeof result !== "string") {
        c.native++
        return result as TensorInfo | TensorInfo[]
      }
      c.fallback++
      c.reasons.add(result)
      if (previous === undefined) throw new Error(`native ${kernel.name}: ${result}, and there is no other kernel to fall back to`)
      return previous(args)
    }
    registerKernel({ kernelName: kernel.name, backendName: "wasm", kernelFunc: kernelFunc as KernelFunc })
    registered.add(kernel.name)
  }
  return kernels.map((k) => k.name)
}
