import { getKernel, util, type DataType, type KernelFunc, type NamedAttrMap, type TensorInfo } from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"

/**
 * The stock wasm kernelFuncs our kernels are composed of. They are captured from the registry the
 * first time they are needed and before anything is overridden, so a project kernel that replaces
 * e.g. Slice can still call the native one and never calls itself.
 */
const originals = new Map<string, KernelFunc>()
const projectKernelFuncs = new Set<KernelFunc>()

/** Marks a kernelFunc as ours, so it is never mistaken for the stock kernel it replaces. */
export const markProjectKernel = (f: KernelFunc): KernelFunc => {
  projectKernelFuncs.add(f)
  return f
}

/** Captures the stock kernelFuncs of `names` (no-op for those already captured). */
export const captureOriginals = (names: ReadonlyArray<string>): void => {
  for (const name of names) {
    if (originals.has(name)) continue
    const config = getKernel(name, "wasm")
    if (config === undefined || projectKernelFuncs.has(config.kernelFunc)) continue
    originals.set(name, config.kernelFunc)
  }
}

/** The stock wasm kernelFunc of `name`, even after the project replaced it. */
export const stockKernel = (name: string): KernelFunc => {
  captureOriginals([name])
  const f = originals.get(name)
  if (f === undefined) throw new Error(`compute: the stock wasm kernel '${name}' is not registered`)
  return f
}

/**
 * Runs stock wasm kernels on TensorInfos for one project kernel and frees every intermediate it
 * created when done: no engine, no tape, so nothing is recorded for autodiff and nothing leaks.
 */
export class Scratch {
  private readonly owned: Array<TensorInfo["dataId"]> = []
  constructor(readonly backend: BackendWasm) {}

  /** Runs a stock kernel; its output is freed by `dispose` unless `release`d. */
  run(kernel: string, inputs: Record<string, TensorInfo> | ReadonlyArray<TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    // Concat and AddN take their inputs as an array.
    const out = stockKernel(kernel)({ inputs: inputs as Record<string, TensorInfo>, backend: this.backend, attrs }) as TensorInfo
    return this.adopt(out)
  }

  /** Makes `t`, created by other means, an intermediate freed by `dispose`. */
  adopt(t: TensorInfo): TensorInfo {
    this.owned.push(t.dataId)
    return t
  }

  /** A fresh, uninitialized heap tensor that is freed by `dispose` unless `release`d. */
  alloc(shape: ReadonlyArray<number>, dtype: DataType = "float32"): TensorInfo {
    return this.adopt(this.backend.makeOutput([...shape], dtype))
  }

  /** Hands ownership of `t` to the caller (the kernel's output). */
  release(t: TensorInfo): TensorInfo {
    const i = this.owned.lastIndexOf(t.dataId)
    if (i >= 0) this.owned.splice(i, 1)
    return t
  }

  dispose(): void {
    for (const id of this.owned) this.backend.disposeData(id)
    this.owned.length = 0
  }
}

/** Runs `body` with a Scratch that is disposed afterwards, even when `body` throws. */
export const withScratch = <A>(backend: BackendWasm, body: (s: Scratch) => A): A => {
  const s = new Scratch(backend)
  try {
    return body(s)
  } finally {
    s.dispose()
  }
}

/** Same data, another shape: no copy and no reference count (the view dies with its source). */
export const view = (t: TensorInfo, shape: ReadonlyArray<number>): TensorInfo => {
  if (util.sizeFromShape([...shape]) !== util.sizeFromShape(t.shape)) {
    throw new Error(`compute: cannot view [${t.shape}] as [${shape}]`)
  }
  return { dataId: t.dataId, shape: [...shape], dtype: t.dtype }
}
