import { withDefault } from "@tomoprior/core"
import { Effect, Schema } from "effect"
import { AugmentConfig } from "@tomoprior/augment"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Positive = Schema.Number.check(Schema.isGreaterThan(0))
/**
 * Parameters both pre-training stages share. Compute settings (backend, threads) are not here:
 * they come from the pipeline's compute block, so changing them does not change the cache key.
 */
export const pretrainFields = {
  /** Square training size: slices are cropped/padded to it. */
  inputSize: withDefault(PositiveInt.check(Schema.isGreaterThanOrEqualTo(16)), 64),
  architecture: withDefault(Schema.Literals(["ref-resnet"]), "ref-resnet"),
  /** Channel multiplier of the encoder (16/32/64/128 × width). */
  width: withDefault(Positive, 1),
  /** Residual units per encoder stage. */
  depth: withDefault(PositiveInt, 1),
  learningRate: withDefault(Positive, 3e-4),
  /** Passes over the TupleSet's epochs (default: as many as it lists); it repeats when asked for more. */
  epochs: Schema.optionalKey(PositiveInt),
  /** Stop after this many steps instead (overrides `epochs`). */
  steps: Schema.optionalKey(PositiveInt),
  /** Groups (tuples) per step: distinct slices per step = groupsPerStep × the TupleSet's groupSize. */
  groupsPerStep: withDefault(PositiveInt, 1),
  /**
   * Ghost-batch-norm groups per step (each partition of the batch gets its own BN statistics). Part
   * of the maths, not of the machine: results do not depend on how many threads run them.
   */
  bnPartitions: withDefault(PositiveInt, 2),
  checkpointEvery: withDefault(PositiveInt, 50),
  /** Model initialization and augmentation seed. */
  seed: withDefault(Schema.Int, 0),
  /** Slices scored per held-out volume in validation (evenly spaced). */
  validationSlices: withDefault(PositiveInt.check(Schema.isGreaterThanOrEqualTo(4)), 32),
  augment: AugmentConfig.pipe(Schema.withDecodingDefaultKey(Effect.succeed({} as (typeof AugmentConfig)["Encoded"])))
}

const PretrainParams = Schema.Struct(pretrainFields)
export type PretrainParams = typeof PretrainParams.Type
