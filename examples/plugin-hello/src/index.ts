import { defineStage } from "@tomoprior/core"
import { Effect, Schema } from "effect"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"

/**
 * The smallest useful third-party stage: writes a greeting page as a `Report`. A pipeline loads it
 * with `plugins: [tomoprior-plugin-hello]`; nothing in the tomoprior repository refers to it.
 */
export const hello = defineStage({
  name: "hello",
  version: "1",
  description: "Writes a small HTML page greeting `name`, `times` times (a demo of the plug-in mechanism).",
  inputs: {},
  outputs: { report: "Report" },
  params: Schema.Struct({
    name: Schema.String,
    times: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })).pipe(Schema.withDecodingDefaultKey(Effect.succeed(1)))
  }),
  source: import.meta.url,
  run: (ctx) =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      for (let i = 0; i < ctx.params.times; i++) {
        lines.push(`<p>Hello, ${escapeHtml(ctx.params.name)}!</p>`)
        yield* ctx.progress({ done: i + 1, total: ctx.params.times, unit: "greetings" })
      }
      const html = `<!doctype html><meta charset="utf-8"><title>hello</title>\n${lines.join("\n")}\n`
      yield* Effect.promise(() => writeFile(join(ctx.outputs.report, "report.html"), html))
      yield* Effect.promise(() =>
        writeFile(join(ctx.outputs.report, "index.json"), JSON.stringify({ kind: "Report", html: "report.html" }))
      )
    })
})

const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)

export const stages = [hello]
