import * as tf from "@tensorflow/tfjs-core"
import type * as tfl from "@tensorflow/tfjs-layers"
import { batchNormLayers } from "@tomoprior/compute"
import type { NamedArray, Trainer } from "./trainer-state.ts"

/**
 * What a pre-training method contributes: the model, its training-mode forward pass and its loss
 * over the outputs of the whole batch (pairwise losses need every slice of a group at once).
 */
export interface Task<Meta> {
  readonly model: tfl.LayersModel
  readonly forward: (inputs: tf.Tensor4D) => tf.Tensor
  readonly loss: (outputs: tf.Tensor, meta: Meta) => tf.Scalar
}


const toArrays = async (named: ReadonlyArray<{ name: string; tensor: tf.Tensor }>): Promise<Array<NamedArray>> =>
  Promise.all(named.map(async ({ name, tensor }) => ({ name, shape: tensor.shape, data: Float32Array.from(await tensor.data()) })))

/**
 * A single-replica trainer in this process (Adam, batch-norm moving statistics folded in after
 * each step). Stand-in with the shape of the compute library's data-parallel trainer.
 */
export const makeLocalTrainer = <Meta>(task: Task<Meta>, options: { learningRate: number; size: number }): Trainer<Meta> => {
  const optimizer = tf.train.adam(options.learningRate)
  const variables = task.model.trainableWeights.map((w) => w.read() as tf.Variable)
  const bns = batchNormLayers(task.model)
  const toBatch = (inputs: Float32Array, count: number) => tf.tensor4d(inputs, [count, options.size, options.size, 1])
  const foldBatchStatistics = () => {
    for (const bn of bns) {
      const calls = bn.recorded.splice(0)
      if (calls.length === 0) continue
      const mean = new Float32Array(calls[0].mean.length), variance = new Float32Array(calls[0].variance.length)
      for (const c of calls) c.mean.forEach((v, i) => ((mean[i] += v / calls.length), (variance[i] += c.variance[i] / calls.length)))
      bn.updateMovingStatistics(mean, variance)
    }
  }
  return {
    step: async (inputs, count, meta) => {
      const loss = tf.tidy(() => {
        const x = toBatch(inputs, count)
        const { value, grads } = tf.variableGrads(() => task.loss(task.forward(x), meta), variables)
        // Gradients are plain tensors; tfjs' signature asks for variables but only reads them.
        optimizer.applyGradients(grads as unknown as Record<string, tf.Variable>)
        return value
      })
      foldBatchStatistics()
      const value = (await loss.data())[0]
      loss.dispose()
      return value
    },
    predict: async (inputs, count) => {
      const out = tf.tidy(() => task.model.predict(toBatch(inputs, count)) as tf.Tensor)
      const values = Float32Array.from(await out.data())
      out.dispose()
      return values
    },
    getState: async () => {
      const adam = await optimizer.getWeights()
      const state = {
        weights: await toArrays(task.model.weights.map((w) => ({ name: w.originalName, tensor: w.read() }))),
        optimizer: await toArrays(adam)
      }
      // The first entry is a fresh iteration-count scalar; the rest are the optimizer's own variables.
      adam[0].tensor.dispose()
      return state
    },
    setState: async (state) => {
      const byName = new Map(state.weights.map((w) => [w.name, w]))
      task.model.weights.forEach((w) => {
        const saved = byName.get(w.originalName)
        if (!saved) throw new Error(`checkpoint has no weight '${w.originalName}'`)
        tf.tidy(() => {
          w.write(tf.tensor(saved.data, [...saved.shape]))
        })
      })
      // Called before the first step, when Adam has no moment variables yet that would be orphaned.
      const tensors = state.optimizer.map((o) => ({ name: o.name, tensor: tf.tensor(o.data, [...o.shape]) }))
      await optimizer.setWeights(tensors)
      tensors.forEach((t) => t.tensor.dispose())
    },
    dispose: () => {
      optimizer.dispose()
      task.model.dispose()
    }
  }
}
