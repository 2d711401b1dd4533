import type * as tf from "@tensorflow/tfjs-core"
import type * as tfl from "@tensorflow/tfjs-layers"
import type { BackendInfo } from "@tomoprior/core"

/** Which slice of the batch a forward call sees. */
export interface Partition {
  readonly index: number
  readonly count: number
  /** Index of the partition's first sample in the batch. */
  readonly offset: number
  readonly size: number
}

/** What the loss (and forward) may need about the whole batch besides its own inputs. */
export interface StepContext {
  /** The batch's JSON metadata (slice positions, view pairs…), the same on every thread. */
  readonly meta: unknown
  /** Per-sample targets for the whole batch (e.g. label maps), when the batch has them. */
  readonly targets: tf.Tensor | undefined
  readonly step: number
}

/**
 * A training task: the model(s) and the maths, written once and run by the trainer on any number
 * of threads with identical results.
 */
export interface Task {
  /** Holds every weight the trainer optimizes and saves; its BatchNorm layers get ghost statistics. */
  readonly model: tfl.LayersModel
  /**
   * Head outputs of one partition, in training mode (call the model with `{ training: true }`).
   * Every partition's output must have the same shape.
   */
  forward(inputs: tf.Tensor4D, partition: Partition, context: StepContext): tf.Tensor
  /**
   * The loss over all partitions' outputs concatenated along axis 0 in partition order (so sample
   * i of the batch is row i). Pairwise and contrastive losses across partitions are exact.
   */
  loss(outputs: tf.Tensor, context: StepContext): tf.Scalar
  /** Inference outputs (scores, score maps, embeddings, logits); default `model.predict`. */
  evaluate?(inputs: tf.Tensor4D): tf.Tensor
  /** Runs before every step, e.g. to freeze an encoder for the first N steps (`layer.trainable`). */
  beforeStep?(step: number): void
}

export interface TaskContext {
  readonly seed: number
  readonly backend: BackendInfo
}

export type TaskFactory = (config: unknown, context: TaskContext) => Task | Promise<Task>

/** A task module's default export: `export default defineTask((config, ctx) => ({ model, forward, loss }))`. */
export const defineTask = (factory: TaskFactory): TaskFactory => factory
