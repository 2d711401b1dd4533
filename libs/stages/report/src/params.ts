import { Schema } from "effect"

/** report's params. */
export const ReportParams = Schema.Struct({
  title: Schema.optionalKey(Schema.String.annotate({ description: "Page title; default `tomoprior report — <pipeline>`" }))
})
export type ReportParams = typeof ReportParams.Type
