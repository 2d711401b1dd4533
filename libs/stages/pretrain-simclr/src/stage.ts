import { defineStage } from "@tomoprior/core"
import { runPretraining } from "@tomoprior/pretrain"
import { simclrMethod } from "./method.ts"
import { PretrainSimclrParams } from "./params.ts"

export const pretrainSimclrStage = defineStage({
  name: "pretrain-simclr",
  version: "1",
  description: "Pre-trains a slice encoder with SimCLR (two augmented views per slice, NT-Xent), the baseline to SortingLoss.",
  inputs: { tuples: { kind: "TupleSet" } },
  outputs: { encoder: "Encoder" },
  params: PretrainSimclrParams,
  resources: { cpu: "all" },
  source: import.meta.url,
  run: (ctx) => runPretraining(ctx, (data) => simclrMethod(ctx.params, data))
})
