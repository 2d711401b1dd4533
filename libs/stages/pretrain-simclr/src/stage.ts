import { definePretrainStage } from "@tomoprior/pretrain"
import { simclrMethod } from "./method.ts"
import { PretrainSimclrParams } from "./params.ts"

export const pretrainSimclrStage = definePretrainStage({
  name: "pretrain-simclr",
  version: "1",
  description: "Pre-trains a slice encoder with SimCLR (two augmented views per slice, NT-Xent), the baseline to SortingLoss.",
  source: import.meta.url,
  params: PretrainSimclrParams,
  method: simclrMethod
})
