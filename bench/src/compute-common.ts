/** What the sections of `tomoprior bench compute` (compute.ts, compute-native.ts) share. */
import { buildScoreModel, convFlops, defaultEncoderSpec } from "@tomoprior/compute"
import type { BenchOptions } from "./contract.ts"

export interface BenchSection {
  readonly name: string
  readonly run: (options: BenchOptions) => Promise<void>
}

export const record = (options: BenchOptions, metric: string, value: number, unit: string, config: Record<string, unknown>) =>
  options.emit({ bench: "compute", metric, value, unit, config })

/** A conv layer b×H²×ci→co, kernel k, stride s, 'same' padding (the shapes of research/tfjs-wasm.md §3). */
export interface Layer {
  readonly b: number
  readonly h: number
  readonly ci: number
  readonly co: number
  readonly k: number
  readonly s: number
}

export const layerName = (l: Layer) => `${l.b}x${l.h}x${l.h}x${l.ci}->${l.co} k${l.k} s${l.s}`

/** Conv FLOPs (forward + dW + dx) of one ref-resnet (width 1) step, counted from the model's layer shapes. */
export const stepFlops = (batch: number, size: number): number => {
  const model = buildScoreModel({ ...defaultEncoderSpec, width: 1, inputSize: size })
  const flops = convFlops(model, batch).total
  model.dispose()
  return flops
}

export const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
