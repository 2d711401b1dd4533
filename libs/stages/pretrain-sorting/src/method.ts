import * as tf from "@tensorflow/tfjs-core"
import { buildScoreModel } from "@tomoprior/compute"
import type { TupleGroup } from "@tomoprior/core"
import {
  centeredImages,
  evenlySpaced,
  groupTargets,
  pairsCorrect,
  rankDisplacement,
  spearman,
  validationVolumes,
  type Method,
  type TupleData
} from "@tomoprior/augment/pretrain"
import { sortingLoss, type SortingLossSettings } from "./losses.ts"
import type { SortingParams } from "./stage.ts"

export interface SortingMeta {
  readonly targets: Array<Array<number>>
}

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

/**
 * Scores evenly spaced slices of each held-out volume (centre crop, no augmentation) and compares
 * them with the slice positions; the three figures are averaged over volumes.
 */
export const orderMetrics = async (
  data: TupleData,
  predict: (inputs: Float32Array, count: number) => Promise<Float32Array>,
  size: number,
  perVolume: number
): Promise<Record<string, number>> => {
  const per = { spearman: [] as number[], pairsCorrect: [] as number[], rankDisplacement: [] as number[] }
  for (const id of validationVolumes(data).ids) {
    const positions = evenlySpaced(data.depth(id), perVolume)
    const scores = Array.from(await predict(centeredImages(data, positions.map((position) => ({ volume: id, position })), size), positions.length))
    per.spearman.push(spearman(scores, positions))
    per.pairsCorrect.push(pairsCorrect(scores, positions))
    per.rankDisplacement.push(rankDisplacement(scores, positions))
  }
  return { spearman: mean(per.spearman), pairsCorrect: mean(per.pairsCorrect), rankDisplacement: mean(per.rankDisplacement) }
}

/** SortingLoss: encoder + per-location 1-unit score head, averaged to one score per slice. */
export const sortingMethod = (p: SortingParams, data: TupleData): Method<SortingMeta> => {
  const model = buildScoreModel({ architecture: p.architecture, width: p.width, depth: p.depth, inputSize: p.inputSize, channels: 1, seed: p.seed })
  const settings: SortingLossSettings = {
    loss: p.loss,
    margin: p.margin,
    temperature: p.temperature,
    steepness: p.steepness,
    normalize: p.normalize,
    partitions: p.partitions
  }
  const n = data.index.groupSize
  return {
    name: "sorting",
    views: 1,
    task: {
      model,
      forward: (x) => model.apply(x, { training: true }) as tf.Tensor,
      loss: (outputs, meta) => sortingLoss(settings, tf.reshape(outputs, [meta.targets.length, n]) as tf.Tensor2D, meta.targets)
    },
    meta: (groups: ReadonlyArray<TupleGroup>) => ({ targets: groupTargets(data, groups) }),
    validate: (predict) => orderMetrics(data, predict, p.inputSize, p.validationSlices),
    settings: { ...settings }
  }
}
