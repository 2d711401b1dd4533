import type * as tfl from "@tensorflow/tfjs-layers"
import { Effect } from "effect"
import { encoderPrefix } from "../models/zoo.ts"
import { WeightTransferMismatch, type ShapeMismatch } from "./errors.ts"

const weightedLayers = (model: tfl.LayersModel, prefix: string): Map<string, tfl.layers.Layer> =>
  new Map(model.layers.filter((l) => l.name.startsWith(prefix) && l.weights.length > 0).map((l) => [l.name, l]))

/** The part of a weight's name after its layer's, e.g. "kernel" or "moving_mean". */
const weightKey = (layer: tfl.layers.Layer, w: tfl.LayerVariable): string => w.originalName.slice(layer.name.length + 1)

/**
 * Copies the weights of every layer named `prefix…` (default: the encoder) from `source` into
 * `target`, matching layers by name and weights by name and shape. Nothing is copied unless
 * everything lines up. Returns the names of the layers copied.
 */
export const transferWeights = (source: tfl.LayersModel, target: tfl.LayersModel, prefix: string = encoderPrefix) =>
  Effect.gen(function* () {
    const from = weightedLayers(source, prefix)
    const to = weightedLayers(target, prefix)
    const missing = [...to.keys()].filter((n) => !from.has(n))
    const extra = [...from.keys()].filter((n) => !to.has(n))
    const shapeMismatches: ShapeMismatch[] = []
    for (const [name, dst] of to) {
      const src = from.get(name)
      if (src === undefined) continue
      const srcWeights = new Map(src.weights.map((w) => [weightKey(src, w), w]))
      for (const w of dst.weights) {
        const s = srcWeights.get(weightKey(dst, w))
        const sourceShape = (s?.shape ?? []) as number[]
        if (s === undefined || sourceShape.join() !== w.shape.join()) {
          shapeMismatches.push({ weight: `${name}/${weightKey(dst, w)}`, source: sourceShape, target: w.shape as number[] })
        }
      }
    }
    if (missing.length > 0 || extra.length > 0 || shapeMismatches.length > 0) {
      return yield* new WeightTransferMismatch({ prefix, missing, extra, shapeMismatches })
    }
    for (const [name, dst] of to) {
      const src = from.get(name)!
      const byKey = new Map(src.weights.map((w) => [weightKey(src, w), w]))
      dst.setWeights(dst.weights.map((w) => byKey.get(weightKey(dst, w))!.read()))
    }
    return [...to.keys()]
  })
