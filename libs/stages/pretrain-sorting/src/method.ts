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
  type Predict,
  type TupleData
} from "@tomoprior/pretrain"
import type { PretrainSortingParams } from "./params.ts"
import type { SortingMeta, SortingTaskConfig } from "./task.ts"

const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

/**
 * Scores evenly spaced slices of each validation volume (center crop, no augmentation) and compares
 * them with the slice positions; the three figures are averaged over volumes.
 */
export const orderMetrics = async (data: TupleData, predict: Predict, size: number, perVolume: number): Promise<Record<string, number>> => {
  const per = { spearman: [] as number[], pairsCorrect: [] as number[], rankDisplacement: [] as number[] }
  for (const id of validationVolumes(data).ids) {
    const positions = evenlySpaced(data.depth(id), perVolume)
    const scores = Array.from(
      await predict(
        centeredImages(
          data,
          positions.map((position) => ({ volume: id, position })),
          size
        ),
        positions.length
      )
    )
    per.spearman.push(spearman(scores, positions))
    per.pairsCorrect.push(pairsCorrect(scores, positions))
    per.rankDisplacement.push(rankDisplacement(scores, positions))
  }
  return { spearman: mean(per.spearman), pairsCorrect: mean(per.pairsCorrect), rankDisplacement: mean(per.rankDisplacement) }
}

/** SortingLoss as a pre-training method: one view per slice, the score model, order metrics. */
export const sortingMethod = (p: PretrainSortingParams, data: TupleData): Method => {
  if (data.index.groupSize % p.partitions !== 0)
    throw new Error(`groupSize ${data.index.groupSize} is not divisible into ${p.partitions} partitions; change partitions`)
  const settings = {
    loss: p.loss,
    margin: p.margin,
    temperature: p.temperature,
    steepness: p.steepness,
    normalize: p.normalize,
    partitions: p.partitions
  }
  const config: SortingTaskConfig = { ...settings, width: p.width, depth: p.depth, inputSize: p.inputSize, groupSize: data.index.groupSize }
  return {
    name: "sorting",
    views: 1,
    headDims: 1,
    task: { module: new URL("./task.ts", import.meta.url), config },
    meta: (groups: ReadonlyArray<TupleGroup>): SortingMeta => ({ targets: groupTargets(data, groups) }),
    validate: (predict) => orderMetrics(data, predict, p.inputSize, p.validationSlices),
    settings
  }
}
