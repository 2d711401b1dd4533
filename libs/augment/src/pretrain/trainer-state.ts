/** The trainer as the loop sees it — no tfjs types, so the loop and checkpoints load without tfjs. */

export interface NamedArray {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}

/** Everything needed to continue training bit-for-bit: weights, BN moving statistics, Adam state. */
export interface TrainerState {
  readonly weights: ReadonlyArray<NamedArray>
  readonly optimizer: ReadonlyArray<NamedArray>
}

export interface Trainer<Meta> {
  /** One update on `count` images (row-major Float32Array); resolves to the loss. */
  readonly step: (inputs: Float32Array, count: number, meta: Meta) => Promise<number>
  /** Inference-mode outputs, flattened, for `count` images. */
  readonly predict: (inputs: Float32Array, count: number) => Promise<Float32Array>
  readonly getState: () => Promise<TrainerState>
  readonly setState: (state: TrainerState) => Promise<void>
  readonly dispose: () => void
}
