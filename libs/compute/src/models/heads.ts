import * as tfl from "@tensorflow/tfjs-layers"
import { BatchNorm } from "./batch-norm.ts"
import { buildEncoderGraph, conv, convBnRelu, layerSeed, type EncoderGraph, type EncoderSpec } from "./zoo.ts"

type Symbolic = tfl.SymbolicTensor

/** Layer producing the per-location score map [N, h, w, 1] of a score model. */
export const scoreMapLayer = "score_map"

/**
 * Encoder + score head: a 1-unit 1×1 conv applied at every location of the last feature map,
 * then averaged → one score per slice [N, 1]. The map before averaging stays available
 * through `scoreMapModel` (the authors' score maps).
 */
export const buildScoreModel = (spec: EncoderSpec): tfl.LayersModel => {
  const g = buildEncoderGraph(spec)
  const map = tfl.layers
    .conv2d({
      name: scoreMapLayer,
      filters: 1,
      kernelSize: 1,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: layerSeed(spec.seed, scoreMapLayer) })
    })
    .apply(g.features) as Symbolic
  const score = tfl.layers.globalAveragePooling2d({ name: "score" }).apply(map) as Symbolic
  return tfl.model({ name: "score_model", inputs: g.input, outputs: score })
}

/** A model sharing the score model's layers that outputs the per-location score map. */
export const scoreMapModel = (scoreModel: tfl.LayersModel): tfl.LayersModel =>
  tfl.model({ name: "score_map_model", inputs: scoreModel.inputs, outputs: scoreModel.getLayer(scoreMapLayer).output as Symbolic })

/**
 * A model sharing `model`'s layers whose output is its head output and the encoder's pooled
 * last-stage features side by side, [N, head + features]: what probes on frozen embeddings read.
 */
export const withPooledFeatures = (model: tfl.LayersModel): tfl.LayersModel => {
  const stages = model.layers.filter((l) => /^enc_stage\d+$/.test(l.name)).map((l) => l.name)
  const last = stages.sort((a, b) => Number(a.slice(9)) - Number(b.slice(9))).at(-1)
  if (!last) throw new Error(`model ${model.name} has no enc_stage<n> layer to pool features from`)
  const pooled = tfl.layers.globalAveragePooling2d({ name: "probe_pool" }).apply(model.getLayer(last).output as Symbolic) as Symbolic
  const joined = tfl.layers.concatenate({ name: "probe_join" }).apply([model.outputs[0], pooled]) as Symbolic
  return tfl.model({ name: `${model.name}_with_features`, inputs: model.inputs, outputs: joined })
}

/** Encoder + SimCLR projection head: linear → `dims` (256) + BatchNorm, on the pooled features. */
export const buildProjectionModel = (spec: EncoderSpec, dims = 256): tfl.LayersModel => {
  const g = buildEncoderGraph(spec)
  const z = tfl.layers
    .dense({
      name: "proj_dense",
      units: dims,
      useBias: false,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: layerSeed(spec.seed, "proj_dense") })
    })
    .apply(g.pooled) as Symbolic
  const out = new BatchNorm({ name: "proj_bn" }).apply(z) as Symbolic
  return tfl.model({ name: "projection_model", inputs: g.input, outputs: out })
}

export interface UNetSpec {
  readonly encoder: EncoderSpec
  readonly numClasses: number
  /** "transpose": conv2dTranspose k2 s2; "nearest": nearest-neighbour ×2 then conv 3×3. */
  readonly upsample: "transpose" | "nearest"
  /** How a skip connection joins the upsampled path ("concat" costs a channel split in backprop). */
  readonly skip: "add" | "concat"
}

const upsample = (spec: UNetSpec, level: number, x: Symbolic, filters: number): Symbolic => {
  const name = `dec_l${level}_up`
  const seed = layerSeed(spec.encoder.seed, name)
  if (spec.upsample === "transpose") {
    return tfl.layers
      .conv2dTranspose({
        name,
        filters,
        kernelSize: 2,
        strides: 2,
        padding: "same",
        kernelInitializer: tfl.initializers.heNormal({ seed })
      })
      .apply(x) as Symbolic
  }
  const resized = tfl.layers.upSampling2d({ name: `${name}_resize`, size: [2, 2] }).apply(x) as Symbolic
  return conv(name, filters, 3, 1, spec.encoder.seed).apply(resized) as Symbolic
}

/**
 * U-Net on a zoo encoder: the decoder climbs from the last stage, joining each stage output of
 * the encoder graph (layers named `enc_stage1..3`), so a pre-trained encoder's weights drop in by
 * layer name. Output: per-pixel logits [N, H, W, numClasses].
 */
export const buildUNet = (spec: UNetSpec): tfl.LayersModel => {
  const g: EncoderGraph = buildEncoderGraph(spec.encoder)
  let x = g.features
  for (let level = g.stages.length - 1; level >= 1; level--) {
    const skip = g.stages[level - 1]
    const filters = skip.shape[skip.shape.length - 1] as number
    const up = upsample(spec, level, x, filters)
    const joined =
      spec.skip === "add"
        ? (tfl.layers.add({ name: `dec_l${level}_join` }).apply([up, skip]) as Symbolic)
        : (tfl.layers.concatenate({ name: `dec_l${level}_join` }).apply([up, skip]) as Symbolic)
    x = convBnRelu(`dec_l${level}_a`, joined, filters, 1, spec.encoder.seed)
    x = convBnRelu(`dec_l${level}_b`, x, filters, 1, spec.encoder.seed)
  }
  const logits = tfl.layers
    .conv2d({
      name: "seg_logits",
      filters: spec.numClasses,
      kernelSize: 1,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: layerSeed(spec.encoder.seed, "seg_logits") })
    })
    .apply(x) as Symbolic
  return tfl.model({ name: "unet", inputs: g.input, outputs: logits })
}
