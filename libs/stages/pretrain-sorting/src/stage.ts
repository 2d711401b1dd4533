import { definePretrainStage } from "@tomoprior/pretrain"
import { sortingMethod } from "./method.ts"
import { PretrainSortingParams } from "./params.ts"

export const pretrainSortingStage = definePretrainStage({
  name: "pretrain-sorting",
  version: "1",
  description: "Pre-trains a slice encoder with SortingLoss: a score per slice that must increase along the axis.",
  source: import.meta.url,
  params: PretrainSortingParams,
  method: sortingMethod
})
