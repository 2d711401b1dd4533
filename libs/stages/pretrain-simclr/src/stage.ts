import { Schema } from "effect"
import { defineStage, withDefault } from "@tomoprior/core"
import { pretrainFields, runPretraining } from "@tomoprior/pretrain"
import { simclrMethod } from "./method.ts"

export const SimclrParams = Schema.Struct({
  ...pretrainFields,
  /** Output size of the linear projection head (followed by batch norm). */
  projectionDims: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), 256),
  /** NT-Xent temperature τ. */
  temperature: withDefault(Schema.Number.check(Schema.isGreaterThan(0)), 0.07)
})
export type SimclrParams = typeof SimclrParams.Type

export const pretrainSimclr = defineStage({
  name: "pretrain-simclr",
  version: "1",
  description: "Pre-trains a slice encoder with SimCLR (two augmented views per slice, NT-Xent), the baseline to SortingLoss.",
  inputs: { tuples: { kind: "TupleSet" } },
  outputs: { encoder: "Encoder" },
  params: SimclrParams,
  resources: { cpu: "all" },
  source: import.meta.url,
  run: (ctx) => runPretraining(ctx, (data) => simclrMethod(ctx.params, data))
})
