import type * as tfl from "@tensorflow/tfjs-layers"

export interface ConvFlops {
  readonly forward: number
  /** Filter gradients of every conv. */
  readonly filterGrad: number
  /** Input gradients of every conv except those reading the model input (nothing to propagate). */
  readonly inputGrad: number
  readonly total: number
}

const known = (shape: ReadonlyArray<number | null>, what: string): number[] =>
  shape.map((d) => {
    if (d === null) throw new Error(`convFlops: the ${what} shape must be fully known (build the model with an inputSize)`)
    return d
  })

/**
 * Multiply-add FLOPs (2 per MAC) of the model's convolutions for one training step on `batch`
 * samples, counted from layer shapes: forward + dW + dx, as the benchmark reports them.
 */
export const convFlops = (model: tfl.LayersModel, batch: number): ConvFlops => {
  let forward = 0
  let inputGrad = 0
  for (const layer of model.layers) {
    const className = layer.getClassName()
    if (className !== "Conv2D" && className !== "Conv2DTranspose") continue
    const [kh, kw, a, b] = known(layer.getWeights()[0].shape, "kernel")
    // A transposed conv is the gradient of a conv from its output to its input: same MACs.
    const activation = className === "Conv2D" ? layer.outputShape : (layer.input as tfl.SymbolicTensor).shape
    const [h, w] = known((activation as Array<number | null>).slice(1, 3), "activation")
    const flops = 2 * batch * h * w * kh * kw * a * b
    forward += flops
    const readsModelInput = model.inputs.some((input) => layer.input === input)
    if (!readsModelInput) inputGrad += flops
  }
  return { forward, filterGrad: forward, inputGrad, total: 2 * forward + inputGrad }
}
