import { Effect, Schema } from "effect"
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import {
  type ArtifactRef,
  defineStage,
  EncoderIndex,
  INDEX_FILE,
  InputError,
  LocalizationIndex,
  MetricsIndex,
  readArtifactIndex,
  type ReportIndex,
  SegmenterIndex,
  StageFailure
} from "@tomoprior/core"
import { buildReport, iouTextTable, localizationTextLines } from "./build.ts"

const readAll = <S extends Schema.Codec<any, any, never, never>>(refs: ReadonlyArray<ArtifactRef>, schema: S) =>
  Effect.forEach(refs, (r) =>
    Effect.map(readArtifactIndex(r.dir, r.kind, schema), (index) => ({ producer: r.producer, index: index as S["Type"] }))
  )

export const reportStage = defineStage({
  name: "report",
  version: "1",
  description: "One self-contained HTML page (charts as inline SVG, slices as inline PNG) from any results",
  source: import.meta.url,
  inputs: {
    encoders: { kind: "Encoder", many: true, optional: true, description: "pre-trained encoders: loss curves" },
    segmenters: { kind: "Segmenter", many: true, optional: true, description: "fine-tuned models: loss curves" },
    metrics: { kind: "Metrics", many: true, optional: true, description: "IoU tables and example slices" },
    localizations: { kind: "Localization", many: true, optional: true, description: "score plots and interval IoU" }
  },
  outputs: { report: "Report" },
  params: Schema.Struct({ title: Schema.optional(Schema.String) }),
  resources: { cpu: 1 },
  run: (ctx) =>
    Effect.gen(function* () {
      const encoders = yield* readAll(ctx.inputs.encoders ?? [], EncoderIndex)
      const segmenters = yield* readAll(ctx.inputs.segmenters ?? [], SegmenterIndex)
      const metrics = yield* readAll(ctx.inputs.metrics ?? [], MetricsIndex)
      const localizations = yield* readAll(ctx.inputs.localizations ?? [], LocalizationIndex)
      const images = new Map<string, Uint8Array>()
      for (const [i, m] of metrics.entries()) {
        const dir = (ctx.inputs.metrics ?? [])[i].dir
        for (const e of m.index.examples ?? []) {
          const file = join(dir, e.png)
          const bytes = yield* Effect.tryPromise({
            try: () => readFile(file),
            catch: (err) => new InputError({ file, problem: `example image listed in the Metrics index is unreadable: ${String(err)}` })
          })
          images.set(`${m.producer}/${e.png}`, bytes)
        }
      }
      const title = ctx.params.title ?? `tomoprior report — ${ctx.pipeline}`
      const html = yield* Effect.tryPromise({
        try: () => buildReport({ title, encoders, segmenters, metrics, localizations, images }),
        catch: (e) => new StageFailure({ stage: ctx.stageId, reason: `rendering the report failed: ${String(e)}`, cause: e })
      })
      const out = ctx.outputs.report
      const index: ReportIndex = { kind: "Report", html: "report.html" }
      yield* Effect.promise(() => writeFile(join(out, "report.html"), html))
      yield* Effect.promise(() => writeFile(join(out, INDEX_FILE), JSON.stringify(index, null, 2)))
      const table = iouTextTable(metrics.flatMap((m) => m.index.summary ?? []))
      if (table) yield* ctx.log(table)
      // One log line each: the CLI prefixes every log line with the stage name.
      for (const line of localizationTextLines(localizations)) yield* ctx.log(line)
      // the output directory moves into the store after the stage; the runner prints where
      yield* ctx.log("wrote report.html into the report output")
    })
})
