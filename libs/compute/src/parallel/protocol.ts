import type { AdamOptions, Backend, BackendInfo, CheckpointMetadata, FlatTensor, TrainerState } from "@tomoprior/core"
import type { PartitionInput } from "./replica.ts"

/** Shared memory of one trainer; every worker holds views of the same buffers. */
export interface SharedBuffers {
  /** Int32: [arrivals, generation] of the barrier. */
  readonly control: SharedArrayBuffer
  /** Float32: one slot per worker (gradients, BN statistics, loss). */
  readonly slots: SharedArrayBuffer
  /** Float32: every partition's head outputs, partition p at p × (elements per partition). */
  readonly outputs: SharedArrayBuffer
}

export interface WorkerSetup {
  readonly rank: number
  readonly partitions: number
  readonly taskModule: string
  readonly taskConfig: unknown
  readonly seed: number
  /** Resolved by the main thread: workers start this backend, they do not choose one. */
  readonly backend: Backend
  /** Threads of this worker's native kernels (its share of the cores). */
  readonly kernelThreads: number
  readonly optimizer: AdamOptions
  readonly profileMemory: boolean
}

export interface StepRequest {
  readonly own: ReadonlyArray<PartitionInput>
  readonly meta: unknown
  readonly targets: FlatTensor | undefined
  readonly lr: number | undefined
}

export type Request =
  | { readonly type: "init" }
  | { readonly type: "attach"; readonly buffers: SharedBuffers; readonly threads: number }
  | { readonly type: "step"; readonly step: StepRequest }
  | { readonly type: "evaluate"; readonly input: FlatTensor; readonly batchSize: number }
  | { readonly type: "getState" }
  | { readonly type: "setState"; readonly state: TrainerState }
  | { readonly type: "save"; readonly dir: string; readonly metadata: CheckpointMetadata }
  | { readonly type: "memory" }
  | { readonly type: "kernelCounts" }

export interface InitReply {
  readonly slotSize: number
  readonly paramCount: number
  readonly backend: BackendInfo
}

export interface StepReply {
  readonly loss: number
  readonly step: number
  readonly checksum: number
}

export type Reply =
  { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: string }

/** Sense-reversing barrier over Atomics: the last of `parties` to arrive releases the others. */
export const barrier = (control: Int32Array, parties: number): void => {
  if (parties === 1) return
  const generation = Atomics.load(control, 1)
  if (Atomics.add(control, 0, 1) === parties - 1) {
    Atomics.store(control, 0, 0)
    Atomics.add(control, 1, 1)
    Atomics.notify(control, 1)
    return
  }
  while (Atomics.load(control, 1) === generation) Atomics.wait(control, 1, generation)
}

/** The partitions a worker runs: contiguous blocks, so partition order is batch order. */
export const partitionsOf = (rank: number, threads: number, partitions: number): number[] =>
  Array.from({ length: partitions }, (_, p) => p).filter((p) => Math.floor((p * threads) / partitions) === rank)
