import * as tfl from "@tensorflow/tfjs-layers"
import { type CheckpointError, ComputeError } from "@tomoprior/core"
import { Effect } from "effect"
import { loadCheckpoint } from "../checkpoint/checkpoint.ts"
import { ATTRIBUTE, encodeOnnx, type OnnxAttribute, type OnnxNode, type OnnxTensor, ONNX_FLOAT } from "./onnx-proto.ts"

/**
 * A tomoprior checkpoint as an ONNX graph (opset 17): every layer of the zoo's encoders, heads and
 * U-Nets maps onto standard operators (Conv, ConvTranspose, BatchNormalization, Relu, Sum, Concat,
 * Resize, GlobalAveragePool, Gemm), so onnxruntime, PyTorch's onnx2torch, OpenVINO or TensorRT run
 * it without tomoprior. ONNX convolutions are channels-first, so the graph takes NCHW slices
 * [N, 1, size, size] (N free) and a U-Net gives NCHW logits; TF's "same" padding is SAME_UPPER.
 */

export const ONNX_OPSET = 17

const int = (name: string, i: number): OnnxAttribute => ({ name, type: ATTRIBUTE.INT, i })
const ints = (name: string, values: ReadonlyArray<number>): OnnxAttribute => ({ name, type: ATTRIBUTE.INTS, ints: values })
const float = (name: string, f: number): OnnxAttribute => ({ name, type: ATTRIBUTE.FLOAT, f })
const text = (name: string, s: string): OnnxAttribute => ({ name, type: ATTRIBUTE.STRING, s: new TextEncoder().encode(s) })

const floatTensor = (name: string, dims: ReadonlyArray<number>, values: Float32Array): OnnxTensor => {
  const rawData = new Uint8Array(values.length * 4)
  const view = new DataView(rawData.buffer)
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true)
  return { name, dims, dataType: ONNX_FLOAT, rawData }
}

/** tfjs' conv kernel [kh, kw, in, out] as ONNX's Conv weight [out, in, kh, kw]. */
const convWeight = (k: Float32Array, [kh, kw, cin, cout]: ReadonlyArray<number>): Float32Array => {
  const w = new Float32Array(k.length)
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) w[((o * cin + i) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * cout + o]
  return w
}

/** tfjs' transposed-conv kernel [kh, kw, out, in] as ONNX's ConvTranspose weight [in, out, kh, kw]. */
const convTransposeWeight = (k: Float32Array, [kh, kw, cout, cin]: ReadonlyArray<number>): Float32Array => {
  const w = new Float32Array(k.length)
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let o = 0; o < cout; o++)
        for (let i = 0; i < cin; i++) w[((i * cout + o) * kh + y) * kw + x] = k[((y * kw + x) * cout + o) * cin + i]
  return w
}

interface LayerConfig {
  readonly kernelSize?: ReadonlyArray<number>
  readonly strides?: ReadonlyArray<number>
  readonly dilationRate?: number | ReadonlyArray<number>
  readonly padding?: string
  readonly activation?: string
  readonly useBias?: boolean
  readonly axis?: number
  readonly size?: ReadonlyArray<number>
  readonly interpolation?: string
  readonly maxValue?: number | null
}

class Graph {
  readonly nodes: Array<OnnxNode> = []
  readonly initializers: Array<OnnxTensor> = []
  node(opType: string, name: string, input: ReadonlyArray<string>, attribute: ReadonlyArray<OnnxAttribute> = [], output = name): string {
    this.nodes.push({ name, opType, input, output: [output], attribute })
    return output
  }
  weight(name: string, dims: ReadonlyArray<number>, values: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, values))
    return name
  }
}

/** `x` through a Keras activation (channels on axis 1). */
const activate = (g: Graph, name: string, x: string, activation: string | undefined): string => {
  switch (activation ?? "linear") {
    case "linear":
      return g.node("Identity", name, [x])
    case "relu":
      return g.node("Relu", name, [x])
    case "sigmoid":
      return g.node("Sigmoid", name, [x])
    case "softmax":
      return g.node("Softmax", name, [x], [int("axis", 1)])
    default:
      throw new Error(`activation ${activation} has no ONNX mapping here`)
  }
}

const weightsOf = (layer: tfl.layers.Layer): Map<string, { values: Float32Array; shape: Array<number> }> =>
  new Map(
    layer.weights.map((w, i) => [
      w.name.split("/").at(-1)!.replace(/_\d+$/, ""),
      { values: layer.getWeights()[i].dataSync() as Float32Array, shape: w.shape as Array<number> }
    ])
  )

/** The ONNX node(s) of one layer, reading `inputs` and writing the tensor named after the layer. */
const convert = (g: Graph, layer: tfl.layers.Layer, inputs: ReadonlyArray<string>): void => {
  const c = layer.getConfig() as LayerConfig
  const name = layer.name
  const w = weightsOf(layer)
  const pairs = (v: number | ReadonlyArray<number> | undefined, fallback: number) =>
    v === undefined ? [fallback, fallback] : typeof v === "number" ? [v, v] : [...v]
  switch (layer.getClassName()) {
    case "Conv2D": {
      const kernel = w.get("kernel")!
      const weight = g.weight(
        `${name}.weight`,
        [kernel.shape[3], kernel.shape[2], kernel.shape[0], kernel.shape[1]],
        convWeight(kernel.values, kernel.shape)
      )
      const bias = w.get("bias")
      const args = [inputs[0], weight, ...(bias ? [g.weight(`${name}.bias`, bias.shape, bias.values)] : [])]
      const padding = c.padding === "same" ? [text("auto_pad", "SAME_UPPER")] : [ints("pads", [0, 0, 0, 0])]
      const y = g.node("Conv", `${name}.conv`, args, [
        ints("kernel_shape", kernel.shape.slice(0, 2)),
        ints("strides", pairs(c.strides, 1)),
        ints("dilations", pairs(c.dilationRate, 1)),
        ...padding
      ])
      activate(g, name, y, c.activation)
      return
    }
    case "Conv2DTranspose": {
      const kernel = w.get("kernel")!
      const [kh, kw, cout, cin] = kernel.shape
      const strides = pairs(c.strides, 1)
      // TF's "same" transposed conv gives size·stride; ONNX removes the same padding explicitly
      const total = c.padding === "same" ? [kh - strides[0], kw - strides[1]].map((t) => Math.max(0, t)) : [0, 0]
      const pads = [
        Math.floor(total[0] / 2),
        Math.floor(total[1] / 2),
        total[0] - Math.floor(total[0] / 2),
        total[1] - Math.floor(total[1] / 2)
      ]
      const weight = g.weight(`${name}.weight`, [cin, cout, kh, kw], convTransposeWeight(kernel.values, kernel.shape))
      const bias = w.get("bias")
      const args = [inputs[0], weight, ...(bias ? [g.weight(`${name}.bias`, bias.shape, bias.values)] : [])]
      const y = g.node("ConvTranspose", `${name}.conv`, args, [
        ints("kernel_shape", [kh, kw]),
        ints("strides", strides),
        ints("pads", pads)
      ])
      activate(g, name, y, c.activation)
      return
    }
    case "TomoBatchNorm": {
      const bn = layer as unknown as { epsilon: number; relu: boolean }
      const args = ["gamma", "beta", "moving_mean", "moving_variance"].map((k) =>
        g.weight(`${name}.${k}`, w.get(k)!.shape, w.get(k)!.values)
      )
      const y = g.node("BatchNormalization", bn.relu ? `${name}.bn` : name, [inputs[0], ...args], [float("epsilon", bn.epsilon)])
      if (bn.relu) g.node("Relu", name, [y])
      return
    }
    case "ReLU":
      if (c.maxValue != null) throw new Error(`ReLU ${name} with maxValue has no mapping here`)
      g.node("Relu", name, inputs)
      return
    case "Activation":
      activate(g, name, inputs[0], c.activation)
      return
    case "Add":
      g.node("Sum", name, inputs)
      return
    case "Concatenate": {
      const rank = ([layer.input].flat() as Array<tfl.SymbolicTensor>)[0].shape.length
      const axis = (c.axis ?? -1) < 0 ? rank + (c.axis ?? -1) : c.axis!
      // NHWC axis → NCHW axis for 4-D tensors; 2-D tensors keep theirs
      g.node("Concat", name, inputs, [int("axis", rank === 4 ? [0, 2, 3, 1][axis] : axis)])
      return
    }
    case "GlobalAveragePooling2D": {
      const pooled = g.node("GlobalAveragePool", `${name}.pool`, inputs)
      g.node("Flatten", name, [pooled], [int("axis", 1)])
      return
    }
    case "Dense": {
      const kernel = w.get("kernel")!
      const bias = w.get("bias")
      const args = [
        inputs[0],
        g.weight(`${name}.weight`, kernel.shape, kernel.values),
        ...(bias ? [g.weight(`${name}.bias`, bias.shape, bias.values)] : [])
      ]
      activate(g, name, g.node("Gemm", `${name}.gemm`, args), c.activation)
      return
    }
    case "UpSampling2D": {
      if ((c.interpolation ?? "nearest") !== "nearest") throw new Error(`UpSampling2D ${name}: only nearest-neighbour upsampling maps here`)
      const [sh, sw] = pairs(c.size, 2)
      const scales = g.weight(`${name}.scales`, [4], Float32Array.from([1, 1, sh, sw]))
      g.node(
        "Resize",
        name,
        [inputs[0], "", scales],
        [text("mode", "nearest"), text("coordinate_transformation_mode", "asymmetric"), text("nearest_mode", "floor")]
      )
      return
    }
    default:
      throw new Error(`layer ${name} (${layer.getClassName()}) has no ONNX mapping; the exporter knows the model zoo's layers`)
  }
}

export interface OnnxExportOptions {
  /** Square slice size the graph takes (the artifact's inputSize). */
  readonly inputSize: number
  /** Facts stored as the model's metadata_props (method, architecture, …). */
  readonly metadata: Readonly<Record<string, string>>
  readonly producerVersion: string
}

/** The model's graph as ONNX bytes: input `input` NCHW [N, channels, size, size], outputs `output` (`output_1`, … for more). */
export const layersModelToOnnx = (model: tfl.LayersModel, options: OnnxExportOptions): Uint8Array => {
  const g = new Graph()
  const inputLayer = model.inputLayers[0]
  const channels = (inputLayer.batchInputShape as Array<number | null>)[3] ?? 1
  const tensorOf = new Map<string, string>([[inputLayer.name, "input"]])
  for (const layer of model.layers) {
    if (layer === inputLayer) continue
    const node = layer.inboundNodes[0]
    convert(
      g,
      layer,
      node.inboundLayers.map((l) => tensorOf.get(l.name)!)
    )
    tensorOf.set(layer.name, layer.name)
  }
  const outputs = model.outputLayers.map((l, k) => {
    const name = k === 0 ? "output" : `output_${k}`
    g.node("Identity", name, [tensorOf.get(l.name)!])
    const shape = l.outputShape as Array<number | null>
    const size = options.inputSize
    // a channels-last map [N, H, W, C] leaves as [N, C, H, W]; H and W scale with the input
    const dims = shape.length === 4 ? ["N", shape[3]!, size, size] : ["N", ...shape.slice(1).map((d) => d ?? "?")]
    return { name, shape: dims as Array<number | string> }
  })
  return encodeOnnx({
    producerName: "tomoprior",
    producerVersion: options.producerVersion,
    docString:
      `${model.name}: slices [N, ${channels}, ${options.inputSize}, ${options.inputSize}] (float32, NCHW, intensities windowed to [0, 1] ` +
      "as the pipeline normalized them) → " +
      outputs.map((o) => `${o.name} [${o.shape.join(", ")}]`).join(", "),
    opset: ONNX_OPSET,
    graphName: model.name,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [{ name: "input", shape: ["N", channels, options.inputSize, options.inputSize] }],
    outputs,
    metadata: options.metadata
  })
}

/** The checkpoint in `dir` as ONNX bytes (loaded on the current backend, disposed after). */
export const checkpointToOnnx = (dir: string, inputSize: number): Effect.Effect<Uint8Array, CheckpointError | ComputeError> =>
  Effect.acquireUseRelease(
    loadCheckpoint(dir),
    ({ model, metadata }) =>
      Effect.try({
        try: () =>
          layersModelToOnnx(model, {
            inputSize,
            producerVersion: "0.1.0",
            metadata: {
              method: metadata.method,
              architecture: metadata.architecture,
              width: String(metadata.width),
              inputSize: String(inputSize),
              layout: "NCHW",
              trainedSteps: String(metadata.steps)
            }
          }),
        catch: (e) => new ComputeError({ operation: "ONNX export", reason: e instanceof Error ? e.message : String(e) })
      }),
    ({ model }) => Effect.sync(() => model.dispose())
  )
