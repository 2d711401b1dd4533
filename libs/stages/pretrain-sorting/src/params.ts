import { withDefault } from "@tomoprior/core"
import { pretrainFields } from "@tomoprior/pretrain"
import { Schema } from "effect"

const Positive = Schema.Finite.check(Schema.isGreaterThan(0))

/** pretrain-sorting's params: the shared pre-training fields and SortingLoss's own, with every default. */
export const PretrainSortingParams = Schema.Struct({
  ...pretrainFields,
  loss: withDefault(
    Schema.Literals(["hinge", "logistic", "sortnet"]).annotate({
      description: "hinge (the authors'), logistic (RankNet) or sortnet (relaxed odd-even sorting network + BCE)"
    }),
    "hinge"
  ),
  margin: withDefault(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "Hinge margin m" }), 0.2),
  temperature: withDefault(Positive.annotate({ description: "Logistic loss temperature" }), 1),
  steepness: withDefault(Positive.annotate({ description: "Sorting-network steepness β" }), 10),
  normalize: withDefault(Schema.Boolean.annotate({ description: "Z-score the scores within each group before the loss" }), false),
  partitions: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
      description: "Chunks of a group z-scored separately (with `normalize`); must divide the TupleSet's groupSize"
    }),
    1
  )
})
export type PretrainSortingParams = typeof PretrainSortingParams.Type
