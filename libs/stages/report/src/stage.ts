import { Effect } from "effect"
import { type ArtifactKind, type ArtifactRef, defineStage, type IndexOf, type InputError, StageFailure } from "@tomoprior/core"
import { buildReport, iouTextTable, localizationTextLines } from "./build.ts"
import { headlineSentences } from "./differences.ts"
import { ReportParams } from "./params.ts"

export const reportStage = defineStage({
  name: "report",
  version: "1",
  description: "One self-contained HTML page (charts as inline SVG, slices as inline PNG) from any results",
  source: import.meta.url,
  inputs: {
    encoders: { kind: "Encoder", many: true, optional: true, description: "pre-trained encoders: loss curves" },
    segmenters: { kind: "Segmenter", many: true, optional: true, description: "fine-tuned models: loss curves" },
    metrics: { kind: "Metrics", many: true, optional: true, description: "IoU tables and example slices" },
    localizations: { kind: "Localization", many: true, optional: true, description: "score plots and interval IoU" },
    embeddings: { kind: "Embeddings", many: true, optional: true, description: "slice embeddings on two principal components" }
  },
  outputs: { report: "Report" },
  params: ReportParams,
  resources: { cpu: 1 },
  run: (ctx) =>
    Effect.gen(function* () {
      const readAll = <K extends ArtifactKind>(refs: ReadonlyArray<ArtifactRef<K>> = []) =>
        Effect.forEach(refs, (r): Effect.Effect<{ producer: string; index: IndexOf<K> }, InputError> =>
          Effect.map(ctx.readIndex(r), (index) => ({ producer: r.producer, index }))
        )
      const encoders = yield* readAll(ctx.inputs.encoders)
      const segmenters = yield* readAll(ctx.inputs.segmenters)
      const metrics = yield* readAll(ctx.inputs.metrics)
      const localizations = yield* readAll(ctx.inputs.localizations)
      const embeddings = yield* readAll(ctx.inputs.embeddings)
      const images = new Map<string, Uint8Array>()
      for (const [i, m] of metrics.entries())
        for (const e of m.index.examples ?? [])
          images.set(`${m.producer}/${e.png}`, yield* ctx.readFile((ctx.inputs.metrics ?? [])[i], e.png))
      const title = ctx.params.title ?? `tomoprior report — ${ctx.pipeline}`
      const html = yield* Effect.tryPromise({
        try: () => buildReport({ title, encoders, segmenters, metrics, localizations, embeddings, images }),
        catch: (e) => new StageFailure({ stage: ctx.stageId, reason: `rendering the report failed: ${String(e)}`, cause: e })
      })
      yield* ctx.writeFile("report", "report.html", html)
      yield* ctx.writeIndex("report", { kind: "Report", html: "report.html" })
      const table = iouTextTable(metrics.flatMap((m) => m.index.summary ?? []))
      if (table) yield* ctx.log(table)
      for (const line of headlineSentences(metrics.flatMap((m) => m.index.differences ?? []))) yield* ctx.log(line)
      // One log line each: the CLI prefixes every log line with the stage name.
      for (const line of localizationTextLines(localizations)) yield* ctx.log(line)
      // the output directory moves into the store after the stage; the runner prints where
      yield* ctx.log("wrote report.html into the report output")
    })
})
