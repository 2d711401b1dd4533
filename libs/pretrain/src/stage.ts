import { defineStage } from "@tomoprior/core"
import type { Schema } from "effect"
import type { TupleData } from "./data.ts"
import type { PretrainParams } from "./params.ts"
import { type Method, runPretraining } from "./run.ts"

/**
 * A pre-training stage: TupleSet → Encoder on the whole machine, run by `runPretraining` with the
 * method its params build. The pre-training stages differ only in what is given here.
 */
export const definePretrainStage = <P extends PretrainParams>(stage: {
  readonly name: string
  /** Bump when outputs would change for the same inputs and params. */
  readonly version: string
  readonly description: string
  /** The stage module's `import.meta.url` (its package's sources are part of the cache key). */
  readonly source: string
  readonly params: Schema.Codec<P, any, never, never>
  readonly method: (params: P, data: TupleData) => Method
}) =>
  defineStage({
    ...stage,
    inputs: { tuples: { kind: "TupleSet" } },
    outputs: { encoder: "Encoder" },
    resources: { cpu: "all" },
    run: (ctx) => runPretraining(ctx, (data) => stage.method(ctx.params, data))
  })
