import * as tf from "@tensorflow/tfjs-core"
import * as tfl from "@tensorflow/tfjs-layers"

type Kwargs = Record<string, unknown>

/**
 * Kernels that run a training-mode call in one piece when the backend has them (the native
 * backend does): forward → [y, mean, variance], backward → [dx, dγ, dβ].
 */
export const batchNormForwardKernel = "TomoBatchNormForward"
export const batchNormBackwardKernel = "TomoBatchNormBackward"

/** Per-channel statistics of one training-mode call (one partition's forward pass). */
export interface BatchStats {
  readonly mean: Float32Array
  readonly variance: Float32Array
}

export interface BatchNormArgs {
  readonly name?: string
  readonly epsilon?: number
  /** Weight of the old moving statistics in each update, as in Keras. */
  readonly momentum?: number
  /** Apply ReLU inside the same op, so the pair keeps one full-size tensor for backprop instead of two. */
  readonly relu?: boolean
}

/**
 * Batch normalization over the last axis with a memory-lean gradient.
 *
 * tfjs-layers' BatchNormalization is composed of elementwise ops, each of which stays on the tape
 * until the backward pass ends (about 8 full-size tensors per layer). Here the forward pass runs
 * inside one `tf.customGrad` that keeps no full-size tensor of its own for backprop: x̂ is
 * recomputed from the (anyway alive) input, and the output doubles as the ReLU mask.
 *
 * Batch statistics are those of each call ("ghost" batch norm: the trainer forwards each batch
 * partition separately). The moving statistics are NOT updated inside `call`: the layer records
 * each call's statistics in `recorded`, and the trainer averages them over all partitions (across
 * worker threads) before updating, so the result does not depend on how many threads ran.
 */
export class BatchNorm extends tfl.layers.Layer {
  static readonly className = "TomoBatchNorm"
  readonly epsilon: number
  readonly momentum: number
  readonly relu: boolean
  readonly recorded: BatchStats[] = []
  private gamma!: tfl.LayerVariable
  private beta!: tfl.LayerVariable
  private movingMean!: tfl.LayerVariable
  private movingVariance!: tfl.LayerVariable

  constructor(args: BatchNormArgs = {}) {
    super(args.name === undefined ? {} : { name: args.name })
    this.epsilon = args.epsilon ?? 1e-3
    this.momentum = args.momentum ?? 0.9
    this.relu = args.relu ?? false
    this.supportsMasking = true
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape
    const channels = shape[shape.length - 1]
    if (channels == null) throw new Error(`${this.name}: the channel dimension must be known`)
    this.gamma = this.addWeight("gamma", [channels], "float32", tfl.initializers.ones())
    this.beta = this.addWeight("beta", [channels], "float32", tfl.initializers.zeros())
    this.movingMean = this.addWeight("moving_mean", [channels], "float32", tfl.initializers.zeros(), undefined, false)
    this.movingVariance = this.addWeight("moving_variance", [channels], "float32", tfl.initializers.ones(), undefined, false)
    this.built = true
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs
    if (kwargs["training"] === true) return this.normalizeBatch(x)
    return tf.tidy(() => {
      const y = tf.batchNorm(x, this.movingMean.read(), this.movingVariance.read(), this.beta.read(), this.gamma.read(), this.epsilon)
      return this.relu ? tf.relu(y) : y
    })
  }

  /** Folds the recorded statistics (already averaged by the caller) into the moving statistics. */
  updateMovingStatistics(mean: Float32Array, variance: Float32Array): void {
    tf.tidy(() => {
      const m = this.momentum
      this.movingMean.write(tf.add(tf.mul(this.movingMean.read(), m), tf.mul(tf.tensor1d(mean), 1 - m)))
      this.movingVariance.write(tf.add(tf.mul(this.movingVariance.read(), m), tf.mul(tf.tensor1d(variance), 1 - m)))
    })
  }

  get channels(): number {
    return this.movingMean.shape[0] as number
  }

  movingStatistics(): BatchStats {
    return {
      mean: Float32Array.from(this.movingMean.read().dataSync()),
      variance: Float32Array.from(this.movingVariance.read().dataSync())
    }
  }

  setMovingStatistics(stats: BatchStats): void {
    tf.tidy(() => {
      this.movingMean.write(tf.tensor1d(stats.mean))
      this.movingVariance.write(tf.tensor1d(stats.variance))
    })
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon, momentum: this.momentum, relu: this.relu }
  }

  private normalizeBatch(x: tf.Tensor): tf.Tensor {
    if (tf.getKernel(batchNormForwardKernel, tf.getBackend()) !== undefined) return this.normalizeBatchKernel(x)
    const axes = x.shape.slice(0, -1).map((_, i) => i)
    const count = x.size / x.shape[x.shape.length - 1]
    const { epsilon, relu, recorded } = this
    // Every full-size pass costs about as much as the others (wasm elementwise kernels are memory
    // bound; its FusedBatchNorm measured slower than mul + add), so both directions are written as
    // few passes as possible, with the per-channel algebra done on [C] vectors.
    const op = tf.customGrad((xIn, gamma, beta, save) => {
      const input = xIn as tf.Tensor
      const g = gamma as tf.Tensor
      const b = beta as tf.Tensor
      const { mean, variance } = tf.moments(input, axes)
      recorded.push({ mean: Float32Array.from(mean.dataSync()), variance: Float32Array.from(variance.dataSync()) })
      const invStd = tf.rsqrt(tf.add(variance, epsilon))
      const scale = tf.mul(g, invStd)
      const affine = tf.add(tf.mul(input, scale), tf.sub(b, tf.mul(mean, scale)))
      const value = relu ? tf.relu(affine) : affine
      // The input is kept alive by the op that produced it anyway; saving it (shared, not copied)
      // keeps no full-size tensor of this op's own for the backward pass.
      ;(save as tf.GradSaveFunc)(relu ? [input, mean, invStd, scale, value] : [input, mean, invStd, scale])
      return {
        value,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
          // The engine does not tidy a custom gradient: without this every temporary of the
          // backward pass would live until the whole gradient computation ends.
          tf.tidy(() => {
            const [sInput, sMean, sInvStd, sScale, sValue] = saved
            const upstream = Array.isArray(dy) ? dy[0] : dy
            // ReLU's gradient from its own output: y > 0 exactly where it let the input through.
            const dAffine = sValue === undefined ? upstream : tf.mul(upstream, tf.step(sValue))
            const dBeta = tf.sum(dAffine, axes)
            // Σ dA·x̂ = (Σ dA·x − μ Σ dA)/σ, without materialising x̂.
            const dGamma = tf.mul(tf.sub(tf.sum(tf.mul(dAffine, sInput), axes), tf.mul(sMean, dBeta)), sInvStd)
            // dx = γ/σ · (dA − ΣdA/n − x̂ Σ(dA·x̂)/n) = (γ/σ)·dA + k·x + c per channel.
            const k = tf.neg(tf.div(tf.mul(tf.mul(sScale, dGamma), sInvStd), count))
            const c = tf.sub(tf.neg(tf.div(tf.mul(sScale, dBeta), count)), tf.mul(k, sMean))
            return [tf.add(tf.add(tf.mul(dAffine, sScale), tf.mul(sInput, k)), c), dGamma, dBeta]
          })
      }
    })
    return op(x, this.gamma.read(), this.beta.read())
  }

  /** The same maths as `normalizeBatch`, each direction one backend kernel. */
  private normalizeBatchKernel(x: tf.Tensor): tf.Tensor {
    const { epsilon, relu, recorded } = this
    const op = tf.customGrad((xIn, gamma, beta, save) => {
      const inputs = { x: xIn as tf.Tensor, gamma: gamma as tf.Tensor, beta: beta as tf.Tensor }
      const [value, mean, variance] = tf.engine().runKernel(batchNormForwardKernel, inputs, { epsilon, relu }) as tf.Tensor[]
      recorded.push({ mean: Float32Array.from(mean.dataSync()), variance: Float32Array.from(variance.dataSync()) })
      // With ReLU fused the kernel recomputes the mask from x and β: each backward pass reads one tensor fewer.
      ;(save as tf.GradSaveFunc)(relu ? [inputs.x, mean, variance, inputs.gamma, inputs.beta] : [inputs.x, mean, variance, inputs.gamma])
      return {
        value,
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const [sx, sMean, sVariance, sGamma, sBeta] = saved
          const upstream = Array.isArray(dy) ? dy[0] : dy
          const grads = { dy: upstream, x: sx, mean: sMean, variance: sVariance, gamma: sGamma, ...(sBeta ? { beta: sBeta } : {}) }
          return tf.engine().runKernel(batchNormBackwardKernel, grads, { epsilon }) as tf.Tensor[]
        }
      }
    })
    return op(x, this.gamma.read(), this.beta.read())
  }
}

tf.serialization.registerClass(BatchNorm)

/** Every BatchNorm layer of a model, nested models included, in a stable order. */
export const batchNormLayers = (model: tfl.LayersModel): BatchNorm[] => {
  const found: BatchNorm[] = []
  const visit = (layer: tfl.layers.Layer): void => {
    if (layer instanceof BatchNorm) found.push(layer)
    else if (layer instanceof tfl.LayersModel) layer.layers.forEach(visit)
  }
  model.layers.forEach(visit)
  return found
}
