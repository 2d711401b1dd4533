import { Schema } from "effect"
import { defineStage, withDefault } from "@tomoprior/core"
import { pretrainFields, runPretraining } from "@tomoprior/pretrain"
import { sortingMethod } from "./method.ts"

const Positive = Schema.Number.check(Schema.isGreaterThan(0))

export const SortingParams = Schema.Struct({
  ...pretrainFields,
  /** hinge (the authors'), logistic (RankNet) or sortnet (relaxed odd-even sorting network + BCE). */
  loss: withDefault(Schema.Literals(["hinge", "logistic", "sortnet"]), "hinge"),
  margin: withDefault(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)), 0.2),
  /** Logistic loss temperature. */
  temperature: withDefault(Positive, 1),
  /** Sorting-network steepness β. */
  steepness: withDefault(Positive, 10),
  /** Z-score the scores within each group before the loss. */
  normalize: withDefault(Schema.Boolean, false),
  /** Chunks of a group z-scored separately (with `normalize`). */
  partitions: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)), 1)
})
export type SortingParams = typeof SortingParams.Type

export const pretrainSorting = defineStage({
  name: "pretrain-sorting",
  version: "1",
  description: "Pre-trains a slice encoder with SortingLoss: a score per slice that must increase along the axis.",
  inputs: { tuples: { kind: "TupleSet" } },
  outputs: { encoder: "Encoder" },
  params: SortingParams,
  resources: { cpu: "all" },
  source: import.meta.url,
  run: (ctx) => runPretraining(ctx, (data) => sortingMethod(ctx.params, data))
})
