import { defineStage } from "@tomoprior/core"
import { runPretraining } from "@tomoprior/pretrain"
import { sortingMethod } from "./method.ts"
import { PretrainSortingParams } from "./params.ts"

export const pretrainSortingStage = defineStage({
  name: "pretrain-sorting",
  version: "1",
  description: "Pre-trains a slice encoder with SortingLoss: a score per slice that must increase along the axis.",
  inputs: { tuples: { kind: "TupleSet" } },
  outputs: { encoder: "Encoder" },
  params: PretrainSortingParams,
  resources: { cpu: "all" },
  source: import.meta.url,
  run: (ctx) => runPretraining(ctx, (data) => sortingMethod(ctx.params, data))
})
