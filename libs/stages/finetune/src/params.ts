import { LabelBudget, LabelEveryK, LabelFraction, notBoth, withDefault } from "@tomoprior/core"
import { Schema, SchemaTransformation } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))

/** Batch-norm partitions of every step (the trainer splits a batch into this many equal parts). */
export const PARTITIONS = 2

/** Everything besides the label budget. */
const settings = {
  seed: withDefault(
    Schema.Int.annotate({ description: "Seed of the slice selection, the batches and the decoder's first weights (one per run)" }),
    0
  ),
  steps: withDefault(PositiveInt.annotate({ description: "Training steps" }), 300),
  batchSize: withDefault(
    PositiveInt.check(Schema.isMultipleOf(PARTITIONS)).annotate({
      description: `Slices per step; a multiple of ${PARTITIONS}, the batch-norm partitions it is split into`
    }),
    8
  ),
  learningRate: withDefault(Positive.annotate({ description: "Adam learning rate" }), 1e-3),
  freezeEncoderSteps: withDefault(
    Count.annotate({ description: "Train only the decoder for this many first steps (the pre-trained encoder stays fixed)" }),
    0
  ),
  heldOut: withDefault(
    Count.annotate({ description: "Labeled volumes held out for extrapolation (the last ones of the set); one always trains" }),
    2
  ),
  width: withDefault(Positive.annotate({ description: "Random-init baseline only: encoder width (an Encoder input fixes it)" }), 1),
  inputSize: Schema.optionalKey(
    PositiveInt.annotate({
      description: "Random-init baseline only: square training size, default the slices' own (an Encoder input fixes it)"
    })
  ),
  logEvery: withDefault(PositiveInt.annotate({ description: "Loss history granularity, in steps" }), 10)
}

/** The `with:` block as a pipeline writes it: the budget as `fraction` or `everyK`. */
const AsWritten = Schema.Struct({
  fraction: Schema.optionalKey(
    LabelFraction.annotate({
      description: "Share of the annotated training slices to label (plus 10 % as many empty ones); 1 unless `everyK` is given"
    })
  ),
  everyK: Schema.optionalKey(LabelEveryK.annotate({ description: "Label every k-th slice of each training volume instead" })),
  ...settings
}).check(notBoth("fraction", "everyK", "they are two labeling protocols; choose one per run"))

/**
 * finetune's params. As written: `fraction` or `everyK`; decoded: one `budget` (core's LabelBudget),
 * `fraction: 1` when neither is given. Every default and rule is here, so `plan` reports a bad
 * combination with its file and line before anything runs.
 */
export const FinetuneParams = AsWritten.pipe(
  Schema.decodeTo(
    Schema.toType(Schema.Struct({ budget: LabelBudget, ...settings })),
    SchemaTransformation.transform({
      decode: ({ fraction, everyK, ...rest }) => ({ ...rest, budget: everyK !== undefined ? { everyK } : { fraction: fraction ?? 1 } }),
      encode: ({ budget, ...rest }) => ({ ...rest, ...budget })
    })
  )
)
export type FinetuneParams = typeof FinetuneParams.Type
