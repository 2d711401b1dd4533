import { describeParams, type ParamDoc } from "@tomoprior/core"
import { builtinStages } from "@tomoprior/catalog"
import { describePorts, StageTypes } from "@tomoprior/runner"
import { type Command, EXIT_OK, parseFlags } from "../command.ts"

const describeParam = (p: ParamDoc): string =>
  `${p.name}: ${p.type}${p.default !== undefined ? ` = ${p.default}` : ""}${p.description ? `  — ${p.description}` : ""}`

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
      const { params, rules } = describeParams(stage.params)
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
            rules,
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
      io.stdout(`  params:  ${params.length ? params.map(describeParam).join("\n           ") : "(none)"}\n`)
      for (const rule of rules) io.stdout(`  rule:    ${rule}\n`)
      if (stage.resources?.cpu === "all") io.stdout("  resources: the whole machine\n")
      io.stdout("\n")
    }
    if (registry.names().length === 0) io.stdout("no stage libraries found under libs/stages/\n")
    return EXIT_OK
  }
}
