import { withDefault } from "@tomoprior/core"
import { Effect, Schema } from "effect"
import { AugmentConfig } from "@tomoprior/augment"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
/**
 * Parameters both pre-training stages share. Compute settings (backend, threads) are not here:
 * they come from the pipeline's compute block, so changing them does not change the cache key.
 */
export const pretrainFields = {
  inputSize: withDefault(
    PositiveInt.check(Schema.isGreaterThanOrEqualTo(16)).annotate({ description: "Square training size: slices are cropped/padded to it" }),
    64
  ),
  architecture: withDefault(Schema.Literals(["ref-resnet"]).annotate({ description: "The model zoo's encoder" }), "ref-resnet"),
  width: withDefault(Positive.annotate({ description: "Channel multiplier of the encoder (16/32/64/128 × width)" }), 1),
  depth: withDefault(PositiveInt.annotate({ description: "Residual units per encoder stage" }), 1),
  learningRate: withDefault(Positive.annotate({ description: "Adam learning rate" }), 3e-4),
  epochs: Schema.optionalKey(
    PositiveInt.annotate({
      description: "Passes over the TupleSet's epochs (default: as many as it lists); it repeats when asked for more"
    })
  ),
  steps: Schema.optionalKey(PositiveInt.annotate({ description: "Stop after this many steps instead (overrides `epochs`)" })),
  groupsPerStep: withDefault(
    PositiveInt.annotate({ description: "Groups (tuples) per step: distinct slices per step = groupsPerStep × the TupleSet's groupSize" }),
    1
  ),
  bnPartitions: withDefault(
    PositiveInt.annotate({
      description: "Ghost-batch-norm groups per step; part of the maths, not of the machine (results do not depend on the threads)"
    }),
    2
  ),
  checkpointEvery: withDefault(PositiveInt.annotate({ description: "Steps between checkpoints in the work directory (resume)" }), 50),
  seed: withDefault(Schema.Int.annotate({ description: "Model initialization and augmentation seed" }), 0),
  validationSlices: withDefault(
    PositiveInt.check(Schema.isGreaterThanOrEqualTo(4)).annotate({
      description: "Slices scored per validation volume (evenly spaced)"
    }),
    32
  ),
  augment: AugmentConfig.annotate({
    description: "Training augmentations, each with a probability `p`; defaults: @tomoprior/augment's (the authors' medium set)"
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({} as (typeof AugmentConfig)["Encoded"])))
}

const PretrainParams = Schema.Struct(pretrainFields)
export type PretrainParams = typeof PretrainParams.Type
