import { Effect, Schema } from "effect"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { defineStage, INDEX_FILE, readArtifactIndex, StageFailure, TupleSetIndex, VolumeSetIndex, withDefault } from "@tomoprior/core"
import { linkArtifactTree } from "@tomoprior/volume"
import { axisIndex, sampleEpochs, SamplingError, splitVolumes } from "./sample.ts"

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
      const fail = (reason: string) => new StageFailure({ stage: ctx.stageId, reason })
      const set = yield* readArtifactIndex(ctx.inputs.volumes.dir, "VolumeSet", VolumeSetIndex)
      if (p.mode === "even" && p.minGap > 1)
        return yield* fail("mode 'even' allows repeated slices, so minGap must stay 1; use mode 'unique' for a gap")
      const { train, validation } = yield* Effect.try({
        try: () =>
          splitVolumes(
            set.volumes.map((v) => v.id),
            p.validation,
            p.seed
          ),
        catch: (e) => fail(e instanceof Error ? e.message : String(e))
      })
      const ax = axisIndex(p.axis)
      const depths = new Map(set.volumes.filter((v) => train.includes(v.id)).map((v) => [v.id, v.dims[ax]] as const))
      const epochs = yield* Effect.try({
        try: () => sampleEpochs(p, depths),
        catch: (e) => (e instanceof SamplingError ? fail(e.message) : fail(`sampling failed: ${String(e)}`))
      })
      const index: TupleSetIndex = {
        kind: "TupleSet",
        axis: p.axis,
        mode: p.mode,
        groupSize: p.groupSize,
        seed: p.seed,
        epochs,
        trainVolumes: train,
        validationVolumes: validation
      }
      yield* linkArtifactTree(ctx.inputs.volumes.dir, join(ctx.outputs.tuples, "volumes"))
      yield* Effect.tryPromise({
        try: () => writeFile(join(ctx.outputs.tuples, INDEX_FILE), JSON.stringify(index)),
        catch: (e) => fail(`cannot write the TupleSet index: ${String(e)}`)
      })
      yield* ctx.provenance({ seed: p.seed, mode: p.mode, groupSize: p.groupSize })
      yield* ctx.log(
        `${p.epochs} epochs × ${p.groupsPerEpoch} groups of ${p.groupSize} (${p.mode}, axis ${p.axis}); ` +
          `${train.length} training / ${validation.length} validation volumes`
      )
    })
})
