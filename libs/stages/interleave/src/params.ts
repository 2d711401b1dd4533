import { withDefault } from "@tomoprior/core"
import { Schema } from "effect"

/** interleave's params, with every default. */
export const InterleaveParams = Schema.Struct({
  parts: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(2)).annotate({
      description: "Volumes each volume becomes: part j holds slices j, j + parts, j + 2·parts, …"
    }),
    2
  )
})
export type InterleaveParams = typeof InterleaveParams.Type
