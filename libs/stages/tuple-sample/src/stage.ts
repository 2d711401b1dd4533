import { Effect } from "effect"
import { join } from "node:path"
import { defineStage, StageFailure } from "@tomoprior/core"
import { linkArtifactTree } from "@tomoprior/volume"
import { TupleSampleParams } from "./params.ts"
import { axisIndex, sampleEpochs, type SamplingError, validationSplit } from "./sample.ts"

export const tupleSampleStage = defineStage({
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
      const { train, validation } = yield* validationSplit(
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
