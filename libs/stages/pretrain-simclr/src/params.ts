import { withDefault } from "@tomoprior/core"
import { pretrainFields } from "@tomoprior/pretrain"
import { Schema } from "effect"

/** pretrain-simclr's params: the shared pre-training fields and SimCLR's own, with every default. */
export const PretrainSimclrParams = Schema.Struct({
  ...pretrainFields,
  projectionDims: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
      description: "Output size of the linear projection head (followed by batch norm)"
    }),
    256
  ),
  temperature: withDefault(Schema.Finite.check(Schema.isGreaterThan(0)).annotate({ description: "NT-Xent temperature τ" }), 0.07)
})
export type PretrainSimclrParams = typeof PretrainSimclrParams.Type
