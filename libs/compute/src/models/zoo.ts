import * as tfl from "@tensorflow/tfjs-layers"
import { BatchNorm } from "./batch-norm.ts"

type Symbolic = tfl.SymbolicTensor

/** Names of the encoder architectures in the zoo (the `architecture` of checkpoints). */
export const architectures = ["ref-resnet"] as const
export type Architecture = (typeof architectures)[number]

export interface EncoderSpec {
  readonly architecture: Architecture
  /** Channel multiplier: stage widths are 16/32/64/128 × width. */
  readonly width: number
  /** Residual units per stage (each two conv-BN-ReLU layers); 1 is the reference model. */
  readonly depth: number
  /** Square input size; null builds a fully convolutional model that accepts any size. */
  readonly inputSize: number | null
  readonly channels: number
  readonly seed: number
}

export const defaultEncoderSpec: EncoderSpec = {
  architecture: "ref-resnet",
  width: 1,
  depth: 1,
  inputSize: null,
  channels: 1,
  seed: 0
}

/** Prefix of every encoder layer: weight transfer between models matches on it. */
export const encoderPrefix = "enc_"

/** The symbolic tensors a head or decoder attaches to, by role. */
export interface EncoderGraph {
  readonly input: Symbolic
  /** Stage outputs at 1, 1/2, 1/4 and 1/8 of the input size (skip connections of the U-Net). */
  readonly stages: ReadonlyArray<Symbolic>
  /** Last feature map (= the last stage output). */
  readonly features: Symbolic
  /** Global average of `features`: the encoder's embedding. */
  readonly pooled: Symbolic
}

/**
 * Per-layer initializer seed, so that every replica built from the same seed starts identical
 * and two same-shaped layers still differ.
 */
export const layerSeed = (seed: number, name: string): number => {
  let h = (2166136261 ^ seed) >>> 0
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0
  return h % 2147483647
}

const stageWidths = [16, 32, 64, 128]

export const scaledWidth = (base: number, width: number): number => Math.max(1, Math.round(base * width))

/** Conv without bias (the BatchNorm after it has one). */
export const conv = (name: string, filters: number, kernelSize: number, strides: number, seed: number) =>
  tfl.layers.conv2d({
    name,
    filters,
    kernelSize,
    strides,
    padding: "same",
    useBias: false,
    kernelInitializer: tfl.initializers.heNormal({ seed: layerSeed(seed, name) })
  })

export const convBnRelu = (prefix: string, x: Symbolic, filters: number, strides: number, seed: number): Symbolic => {
  const y = conv(`${prefix}_conv`, filters, 3, strides, seed).apply(x) as Symbolic
  return new BatchNorm({ name: `${prefix}_bn`, relu: true }).apply(y) as Symbolic
}

const residualUnit = (prefix: string, x: Symbolic, filters: number, strides: number, seed: number): Symbolic => {
  const inChannels = x.shape[x.shape.length - 1]
  const a = convBnRelu(`${prefix}_a`, x, filters, strides, seed)
  const b = new BatchNorm({ name: `${prefix}_b_bn` }).apply(conv(`${prefix}_b_conv`, filters, 3, 1, seed).apply(a) as Symbolic) as Symbolic
  const shortcut =
    strides === 1 && inChannels === filters
      ? x
      : (new BatchNorm({ name: `${prefix}_proj_bn` }).apply(
          conv(`${prefix}_proj_conv`, filters, 1, strides, seed).apply(x) as Symbolic
        ) as Symbolic)
  const sum = tfl.layers.add({ name: `${prefix}_add` }).apply([b, shortcut]) as Symbolic
  return sum
}

/**
 * ref-resnet: stem conv 3×3 → 16, four stages of residual units (two conv-BN-ReLU layers and a
 * shortcut, 1×1 strided projection when the shape changes), stride 2 at stages 2–4, global
 * average pooling → 128·width features.
 */
export const buildEncoderGraph = (spec: EncoderSpec, input?: Symbolic): EncoderGraph => {
  const x0 = input ?? tfl.input({ name: `${encoderPrefix}input`, shape: [spec.inputSize, spec.inputSize, spec.channels] })
  let x = convBnRelu(`${encoderPrefix}stem`, x0, scaledWidth(16, spec.width), 1, spec.seed)
  const stages: Symbolic[] = []
  stageWidths.forEach((base, s) => {
    for (let u = 0; u < spec.depth; u++) {
      const strides = s > 0 && u === 0 ? 2 : 1
      x = residualUnit(`${encoderPrefix}s${s + 1}u${u + 1}`, x, scaledWidth(base, spec.width), strides, spec.seed)
      const last = u === spec.depth - 1
      x = tfl.layers.reLU({ name: last ? `${encoderPrefix}stage${s + 1}` : `${encoderPrefix}s${s + 1}u${u + 1}_relu` }).apply(x) as Symbolic
    }
    stages.push(x)
  })
  const pooled = tfl.layers.globalAveragePooling2d({ name: `${encoderPrefix}pool` }).apply(x) as Symbolic
  return { input: x0, stages, features: x, pooled }
}

/** The bare encoder: image → pooled embedding. */
export const buildEncoder = (spec: EncoderSpec): tfl.LayersModel => {
  const g = buildEncoderGraph(spec)
  return tfl.model({ name: "encoder", inputs: g.input, outputs: g.pooled })
}
