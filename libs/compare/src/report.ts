import { type ArtifactKind, Manifest } from "@tomoprior/core"
import { artifactDir, MANIFEST_FILE, readArtifactIndex, readJsonFile, type StoreLayout } from "@tomoprior/runner"
import type { ReportData } from "@tomoprior/stage-report"
import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import type { RecordedRun } from "./runs.ts"

type Inputs = Omit<ReportData, "title">

/**
 * The inputs of one report over several runs: every Encoder, Segmenter, Metrics and Localization
 * the runs recorded, each method renamed `method (run label)` so that the variants of one method
 * are told apart in every table and share one chart (the report's palette gives them shades of the
 * method's color). Artifacts not in this store are skipped, as `compare` lists them.
 */
export const variantReportData = (runs: ReadonlyArray<RecordedRun>, labels: ReadonlyArray<string>, store: StoreLayout) =>
  Effect.gen(function* () {
    const encoders: Array<Inputs["encoders"][number]> = []
    const segmenters: Array<Inputs["segmenters"][number]> = []
    const metrics: Array<Inputs["metrics"][number]> = []
    const localizations: Array<Inputs["localizations"][number]> = []
    const images = new Map<string, Uint8Array>()
    for (const [i, run] of runs.entries()) {
      const label = labels[i]
      const rename = (method: string) => `${method} (${label})`
      for (const [stage, entry] of Object.entries(run.stages))
        for (const hash of Object.values(entry.outputs)) {
          const dir = artifactDir(store, hash)
          const manifest = yield* Effect.promise(() => readJsonFile(join(dir, MANIFEST_FILE), Manifest))
          if (!manifest) continue
          const producer = `${label}: ${stage}`
          const kind: ArtifactKind = manifest.kind
          if (kind === "Encoder") {
            const index = yield* readArtifactIndex(dir, kind)
            encoders.push({ producer, index: { ...index, method: rename(index.method) } })
          } else if (kind === "Segmenter") {
            const index = yield* readArtifactIndex(dir, kind)
            segmenters.push({ producer, index: { ...index, pretraining: rename(index.pretraining) } })
          } else if (kind === "Localization") {
            const index = yield* readArtifactIndex(dir, kind)
            localizations.push({ producer, index: { ...index, method: rename(index.method) } })
          } else if (kind === "Metrics") {
            const index = yield* readArtifactIndex(dir, kind)
            const relabel = <R extends { readonly pretraining: string }>(rows: ReadonlyArray<R> | undefined) =>
              rows?.map((r) => ({ ...r, pretraining: rename(r.pretraining) }))
            metrics.push({
              producer,
              index: { ...index, rows: relabel(index.rows)!, summary: relabel(index.summary), examples: relabel(index.examples) }
            })
            for (const e of index.examples ?? [])
              images.set(`${producer}/${e.png}`, yield* Effect.promise(() => readFile(join(dir, e.png))))
          }
        }
    }
    return { encoders, segmenters, metrics, localizations, images } satisfies Inputs
  })
