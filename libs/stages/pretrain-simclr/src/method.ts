import { deriveSeed, augmentSlice } from "@tomoprior/augment"
import { evenlySpaced, validationVolumes, type Method, type TupleData } from "@tomoprior/pretrain"
import { alignmentUniformity, viewRetrieval } from "./view-metrics.ts"
import type { PretrainSimclrParams } from "./params.ts"
import type { SimclrTaskConfig } from "./task.ts"

/** A fixed stream for validation views, apart from any training step's. */
const VALIDATION_STREAM = 0x7fff_fff0

/**
 * Two fixed augmented views of evenly spaced slices of every validation volume, embedded with the
 * current weights: top-1 view retrieval (higher is better) and alignment/uniformity (lower).
 */
const viewMetrics = (data: TupleData, p: PretrainSimclrParams) => {
  const slices = validationVolumes(data).ids.flatMap((id) =>
    evenlySpaced(data.depth(id), p.validationSlices).map((position) => ({ id, position }))
  )
  const pixels = p.inputSize * p.inputSize
  const inputs = new Float32Array(2 * slices.length * pixels)
  slices.forEach((s, i) => {
    const { data: plane, h, w } = data.slice(s.id, s.position)
    for (let v = 0; v < 2; v++)
      inputs.set(
        augmentSlice(plane, h, w, p.inputSize, p.augment, deriveSeed(p.seed, VALIDATION_STREAM, i, v)),
        (v * slices.length + i) * pixels
      )
  })
  return async (predict: (inputs: Float32Array, count: number) => Promise<Float32Array>) => {
    const flat = await predict(inputs, 2 * slices.length)
    const dims = flat.length / (2 * slices.length)
    const rows = Array.from({ length: 2 * slices.length }, (_, r) => Array.from(flat.subarray(r * dims, (r + 1) * dims)))
    return { viewTop1: viewRetrieval(rows), ...alignmentUniformity(rows) }
  }
}

/** SimCLR as a pre-training method: two views per slice, projection model, NT-Xent. */
export const simclrMethod = (p: PretrainSimclrParams, data: TupleData): Method => {
  const hyper = { projectionDims: p.projectionDims, temperature: p.temperature }
  const config: SimclrTaskConfig = { ...hyper, width: p.width, depth: p.depth, inputSize: p.inputSize }
  return {
    name: "simclr",
    views: 2,
    headDims: p.projectionDims,
    task: { module: new URL("./task.ts", import.meta.url), config },
    meta: () => ({}),
    validate: viewMetrics(data, p),
    // Named like the sorting losses, so the report can title each method's loss panel.
    settings: { loss: "nt-xent", ...hyper }
  }
}
