import { Schema } from "effect"
import type { StageDef } from "@tomoprior/core"
import { builtinStages } from "@tomoprior/catalog"
import { describePorts, StageTypes } from "@tomoprior/runner"
import { type Command, EXIT_OK, parseFlags } from "../command.ts"

/** The params schema as JSON Schema properties (best effort: some schemas have no JSON form). */
const paramsOf = (stage: StageDef): Record<string, unknown> => {
  try {
    const doc = Schema.toJsonSchemaDocument(stage.params as Schema.Top) as {
      schema: { properties?: Record<string, unknown>; required?: Array<string> }
    }
    return doc.schema.properties ?? {}
  } catch {
    return {}
  }
}

const describeParam = (name: string, s: unknown): string => {
  const o = (s ?? {}) as {
    type?: unknown
    enum?: Array<unknown>
    default?: unknown
    description?: string
    anyOf?: Array<{ type?: unknown }>
  }
  const type = o.enum ? o.enum.map((v) => JSON.stringify(v)).join(" | ") : (o.type ?? o.anyOf?.map((a) => a.type).join(" | ") ?? "value")
  return `${name}: ${String(type)}${o.default !== undefined ? ` = ${JSON.stringify(o.default)}` : ""}${o.description ? `  — ${o.description}` : ""}`
}

export const stages: Command = {
  name: "stages",
  summary: "list the registered stage types with inputs, outputs and params",
  usage: `tomoprior stages [--json]

Lists the built-in stage types (libs/catalog lists them). Plug-in stages named in a
pipeline's \`plugins:\` are loaded when that pipeline is used.`,
  run: async (argv, io) => {
    const { values } = parseFlags(argv, { json: { type: "boolean" } })
    const registry = new StageTypes()
    for (const pkg of builtinStages.packages) registry.add(pkg.name, pkg)
    for (const name of registry.names()) {
      const { stage, origin } = registry.stages.get(name)!
      const params = paramsOf(stage)
      if (values.json) {
        io.stdout(
          JSON.stringify({
            type: "stage",
            name,
            version: stage.version,
            origin,
            description: stage.description,
            inputs: stage.inputs,
            outputs: stage.outputs,
            params,
            resources: stage.resources ?? { cpu: 1 }
          }) + "\n"
        )
        continue
      }
      io.stdout(`${name} (v${stage.version}, ${origin})\n  ${stage.description}\n`)
      io.stdout(`  inputs:  ${describePorts(stage)}\n`)
      io.stdout(
        `  outputs: ${
          Object.entries(stage.outputs)
            .map(([n, k]) => `${n} (${k})`)
            .join(", ") || "(none)"
        }\n`
      )
      const ps = Object.entries(params)
      io.stdout(`  params:  ${ps.length ? ps.map(([n, s]) => describeParam(n, s)).join("\n           ") : "(none)"}\n`)
      if (stage.resources?.cpu === "all") io.stdout("  resources: the whole machine\n")
      io.stdout("\n")
    }
    if (registry.names().length === 0) io.stdout("no stage libraries found under libs/stages/\n")
    return EXIT_OK
  }
}
