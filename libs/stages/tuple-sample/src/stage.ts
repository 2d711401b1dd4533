import { Effect, Schema } from "effect"
import { join } from "node:path"
import { defineStage, StageFailure, withDefault } from "@tomoprior/core"
import { linkArtifactTree } from "@tomoprior/volume"
import { axisIndex, sampleEpochs, type SamplingError, splitVolumes } from "./sample.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
export const TupleSampleParams = Schema.Struct({
  /** unique: B distinct positions of one volume; even: uniform positions, repeats allowed; aligned: same relative positions across volumes. */
  mode: withDefault(Schema.Literals(["unique", "even", "aligned"]), "unique"),
  groupSize: withDefault(PositiveInt.check(Schema.isGreaterThanOrEqualTo(2)), 16),
  groupsPerEpoch: withDefault(PositiveInt, 64),
  epochs: withDefault(PositiveInt, 4),
  axis: withDefault(Schema.Literals(["z", "y", "x"]), "z"),
  /** Smallest distance in slices between two members of a group (unique and aligned). */
  minGap: withDefault(PositiveInt, 1),
  seed: withDefault(Schema.Int, 0),
  /** Held-out volumes for validation: a fraction below 1, or a count. */
  validation: withDefault(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)), 0.25)
})
export type TupleSampleParams = typeof TupleSampleParams.Type

export const tupleSample = defineStage({
  name: "tuple-sample",
  version: "1",
  description: "Draws training groups (volume id + slice indices, no pixels) from a VolumeSet for slice-order pre-training.",
  inputs: { volumes: { kind: "VolumeSet" } },
  outputs: { tuples: "TupleSet" },
  params: TupleSampleParams,
  resources: { cpu: 1 },
  source: import.meta.url,
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const fail = (e: SamplingError) => new StageFailure({ stage: ctx.stageId, reason: e.problem })
      const set = yield* ctx.readIndex(ctx.inputs.volumes)
      if (p.mode === "even" && p.minGap > 1)
        return yield* new StageFailure({
          stage: ctx.stageId,
          reason: "mode 'even' allows repeated slices, so minGap must stay 1; use mode 'unique' for a gap"
        })
      const { train, validation } = yield* splitVolumes(
        set.volumes.map((v) => v.id),
        p.validation,
        p.seed
      ).pipe(Effect.mapError(fail))
      const ax = axisIndex(p.axis)
      const depths = new Map(set.volumes.filter((v) => train.includes(v.id)).map((v) => [v.id, v.dims[ax]] as const))
      const epochs = yield* sampleEpochs(p, depths).pipe(Effect.mapError(fail))
      yield* linkArtifactTree(ctx.inputs.volumes.dir, join(ctx.outputs.tuples, "volumes"))
      yield* ctx.writeIndex("tuples", {
        kind: "TupleSet",
        axis: p.axis,
        mode: p.mode,
        groupSize: p.groupSize,
        seed: p.seed,
        epochs,
        trainVolumes: train,
        validationVolumes: validation
      })
      yield* ctx.provenance({ seed: p.seed, mode: p.mode, groupSize: p.groupSize })
      yield* ctx.log(
        `${p.epochs} epochs × ${p.groupsPerEpoch} groups of ${p.groupSize} (${p.mode}, axis ${p.axis}); ` +
          `${train.length} training / ${validation.length} validation volumes`
      )
    })
})
