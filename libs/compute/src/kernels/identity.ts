import { Cast, Identity, type CastAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"
import { markProjectKernel, stockKernel } from "./wasm-ops.ts"

/** Tensors are immutable, so an identity can share the data (reference-counted, as the cpu backend does) instead of copying it. */
const share = (backend: BackendWasm, x: TensorInfo): TensorInfo => {
  backend.incRef(x.dataId)
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype }
}

export const identity = (args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo =>
  args.inputs.x.dtype === "string" ? (stockKernel(Identity)(args) as TensorInfo) : share(args.backend, args.inputs.x)

export const cast = (args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: CastAttrs }): TensorInfo =>
  args.inputs.x.dtype === args.attrs.dtype && args.inputs.x.dtype !== "string"
    ? share(args.backend, args.inputs.x)
    : (stockKernel(Cast)(args as never) as TensorInfo)

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: "wasm",
  kernelFunc: markProjectKernel(identity as unknown as KernelFunc)
}
export const castConfig: KernelConfig = {
  kernelName: Cast,
  backendName: "wasm",
  kernelFunc: markProjectKernel(cast as unknown as KernelFunc)
}
