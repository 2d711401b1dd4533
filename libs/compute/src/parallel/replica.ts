import * as tf from "@tensorflow/tfjs-core"
import type * as tfl from "@tensorflow/tfjs-layers"
import { BatchNorm, batchNormLayers } from "../models/batch-norm.ts"
import type { AdamOptions, FlatTensor, TrainerState } from "@tomoprior/core"
import { Adam, type Range } from "./adam.ts"
import type { Partition, StepContext, Task } from "./task.ts"

/** One partition's inputs as they travel between threads. */
export interface PartitionInput {
  readonly partition: Partition
  readonly data: Float32Array
  readonly shape: readonly [number, number, number, number]
}

/**
 * Hands this replica's partition outputs to the other replicas and returns everybody's, by
 * partition index; absent when one replica runs every partition.
 */
export type OutputExchange = (own: ReadonlyMap<number, Float32Array>, elementsPerPartition: number) => (partition: number) => Float32Array

interface Param {
  readonly variable: tfl.LayerVariable
  readonly offset: number
  readonly size: number
}

/**
 * Every weight that can be trained, including those of layers frozen right now (a task may freeze
 * its encoder for the first N steps): the flat parameter layout must not change when they thaw.
 */
const trainableKind = (model: tfl.LayersModel): tfl.LayerVariable[] => {
  const frozen = model.layers.filter((l) => !l.trainable)
  frozen.forEach((l) => (l.trainable = true))
  const weights = model.trainableWeights
  frozen.forEach((l) => (l.trainable = false))
  return weights
}

const numel = (shape: ReadonlyArray<number | null>): number => shape.reduce<number>((a, b) => a * (b ?? 1), 1)

/** One Float32Array holding the given arrays back to back. */
export const concatFloats = (arrays: ReadonlyArray<Float32Array>): Float32Array => {
  const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0))
  let at = 0
  for (const a of arrays) {
    out.set(a, at)
    at += a.length
  }
  return out
}

/** Cheap order-sensitive fingerprint of a float array, to check replicas agree. */
export const checksum = (values: Float32Array): number => {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length)
  let h = 2166136261
  for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i], 16777619) >>> 0
  return h
}

/**
 * One model replica: computes its partitions' share of the gradient, and applies the (summed)
 * gradient with Adam and the averaged BatchNorm statistics. Used by every worker thread.
 *
 * Slot layout (one per replica, summed across replicas in replica order):
 * [gradients | Σ BN means | Σ BN variances | BN call counts | loss].
 */
export class Replica {
  readonly params: ReadonlyArray<Param>
  readonly paramCount: number
  readonly batchNorms: ReadonlyArray<BatchNorm>
  readonly bnChannels: number
  readonly slotSize: number
  readonly weights: Float32Array
  readonly adam: Adam

  constructor(
    readonly task: Task,
    optimizer: AdamOptions
  ) {
    let offset = 0
    this.params = trainableKind(task.model).map((variable) => {
      const size = numel(variable.shape)
      const p = { variable, offset, size }
      offset += size
      return p
    })
    this.paramCount = offset
    this.batchNorms = batchNormLayers(task.model)
    this.bnChannels = this.batchNorms.reduce((a, l) => a + l.channels, 0)
    this.slotSize = this.paramCount + 2 * this.bnChannels + this.batchNorms.length + 1
    this.weights = new Float32Array(this.paramCount)
    for (const p of this.params) this.weights.set(p.variable.read().dataSync(), p.offset)
    this.adam = new Adam(optimizer, this.paramCount)
  }

  get step(): number {
    return this.adam.step
  }

  /**
   * Fills `slot` with the gradient of the loss through this replica's partitions (frozen
   * weights: zero), the BN statistics of its forward passes, and the loss.
   */
  gradients(
    own: ReadonlyArray<PartitionInput>,
    partitions: number,
    context: StepContext,
    slot: Float32Array,
    exchange?: OutputExchange
  ): void {
    const active = this.params.filter((p) => p.variable.trainable)
    const variables = active.map((p) => p.variable.read() as tf.Variable)
    const { value, grads } = tf.variableGrads(() => {
      const outputs = own.map((p) => this.task.forward(tf.tensor4d(p.data, [...p.shape]), p.partition, context))
      if (own.length === partitions) return this.task.loss(tf.concat(outputs, 0), context)
      const byPartition = new Map(own.map((p, i) => [p.partition.index, outputs[i]]))
      const perPartition = outputs[0].size
      if (exchange === undefined) throw new Error("a replica that runs only some partitions needs an output exchange")
      const others = exchange(new Map(own.map((p, i) => [p.partition.index, outputs[i].dataSync() as Float32Array])), perPartition)
      const all = Array.from({ length: partitions }, (_, i) => byPartition.get(i) ?? tf.tensor(others(i), outputs[0].shape))
      return this.task.loss(tf.concat(all, 0), context)
    }, variables)
    slot.fill(0, 0, this.paramCount)
    for (const p of active) {
      const g = grads[(p.variable.read() as tf.Variable).name]
      if (g !== undefined) slot.set(g.dataSync(), p.offset)
    }
    slot[this.slotSize - 1] = value.dataSync()[0]
    tf.dispose([value, grads])
    this.drainBatchStats(slot)
  }

  /** Applies the summed gradient and the summed BN statistics (layout of a slot). */
  apply(total: Float32Array, lr?: number): void {
    const ranges: Range[] = this.params.filter((p) => p.variable.trainable).map((p) => ({ start: p.offset, end: p.offset + p.size }))
    this.adam.update(this.weights, total, ranges, lr)
    this.writeWeights()
    let mean = this.paramCount
    let variance = this.paramCount + this.bnChannels
    this.batchNorms.forEach((layer, i) => {
      const c = layer.channels
      const count = total[this.paramCount + 2 * this.bnChannels + i]
      if (count > 0) {
        const scale = (a: Float32Array) => a.map((x) => x / count)
        layer.updateMovingStatistics(scale(total.subarray(mean, mean + c)), scale(total.subarray(variance, variance + c)))
      }
      mean += c
      variance += c
    })
  }

  evaluate(input: FlatTensor, batchSize: number): FlatTensor {
    const [n, ...rest] = input.shape
    const per = numel(rest)
    const chunks: Float32Array[] = []
    let outShape: number[] = []
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start)
      const out = tf.tidy(() => {
        const x = tf.tensor4d(input.data.subarray(start * per, (start + count) * per), [count, rest[0], rest[1], rest[2]])
        const y = this.task.evaluate ? this.task.evaluate(x) : (this.task.model.predict(x) as tf.Tensor)
        outShape = y.shape.slice(1)
        return y
      })
      chunks.push(out.dataSync() as Float32Array)
      out.dispose()
    }
    return { data: concatFloats(chunks), shape: [n, ...outShape] }
  }

  getState(): TrainerState {
    const batchNorm = concatFloats(
      this.batchNorms.flatMap((l) => {
        const stats = l.movingStatistics()
        return [stats.mean, stats.variance]
      })
    )
    return {
      step: this.adam.step,
      names: this.params.map((p) => p.variable.originalName),
      shapes: this.params.map((p) => p.variable.shape as number[]),
      weights: this.weights.slice(),
      m: this.adam.m.slice(),
      v: this.adam.v.slice(),
      batchNorm,
      bnNames: this.batchNorms.map((l) => l.name)
    }
  }

  /** Restores a state of the same model; throws naming the first thing that does not fit. */
  setState(state: TrainerState): void {
    const problem = stateMismatch(this.getState(), state)
    if (problem !== undefined) throw new Error(problem)
    this.weights.set(state.weights)
    this.adam.m.set(state.m)
    this.adam.v.set(state.v)
    this.adam.step = state.step
    this.writeWeights()
    let at = 0
    for (const layer of this.batchNorms) {
      const c = layer.channels
      layer.setMovingStatistics({ mean: state.batchNorm.slice(at, at + c), variance: state.batchNorm.slice(at + c, at + 2 * c) })
      at += 2 * c
    }
  }

  private writeWeights(): void {
    tf.tidy(() => {
      for (const p of this.params) {
        p.variable.write(tf.tensor(this.weights.slice(p.offset, p.offset + p.size), p.variable.shape as number[]))
      }
    })
  }

  private drainBatchStats(slot: Float32Array): void {
    let mean = this.paramCount
    let variance = this.paramCount + this.bnChannels
    this.batchNorms.forEach((layer, i) => {
      const c = layer.channels
      slot.fill(0, mean, mean + c)
      slot.fill(0, variance, variance + c)
      for (const r of layer.recorded) {
        for (let k = 0; k < c; k++) {
          slot[mean + k] += r.mean[k]
          slot[variance + k] += r.variance[k]
        }
      }
      slot[this.paramCount + 2 * this.bnChannels + i] = layer.recorded.length
      layer.recorded.length = 0
      mean += c
      variance += c
    })
  }
}

/** Why `state` cannot be restored into a model whose state looks like `current`, if it cannot. */
export const stateMismatch = (current: TrainerState, state: TrainerState): string | undefined => {
  const wrong = current.names.findIndex((n, i) => state.names[i] !== n || state.shapes[i]?.join() !== current.shapes[i].join())
  if (wrong >= 0) return `the state does not fit this model: weight ${current.names[wrong]} is missing or has another shape`
  if (state.names.length !== current.names.length) return `the state has ${state.names.length} weights, the model ${current.names.length}`
  if (state.bnNames.join() !== current.bnNames.join()) return "the state's BatchNorm layers differ from the model's"
  const sizes = [current.weights, current.m, current.v, current.batchNorm].map((a) => a.length).join()
  if ([state.weights, state.m, state.v, state.batchNorm].map((a) => a.length).join() !== sizes)
    return "the state's arrays have the wrong lengths"
  return undefined
}

/** Sums replica slots in replica order, so every replica computes the bit-identical total. */
export const sumSlots = (slots: ReadonlyArray<Float32Array>, into: Float32Array): Float32Array => {
  into.set(slots[0])
  for (let s = 1; s < slots.length; s++) {
    const slot = slots[s]
    for (let i = 0; i < into.length; i++) into[i] += slot[i]
  }
  return into
}
