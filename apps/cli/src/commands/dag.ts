import { builtinRegistry } from "@tomoprior/catalog"
import { Effect } from "effect"
import { type ResolvedPipeline, resolvePipelineFile } from "@tomoprior/runner"
import { type Command, EXIT_OK, onePipelineFile, parseFlags } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"

const edges = (p: ResolvedPipeline) =>
  p.nodes.flatMap((n) =>
    Object.entries(n.inputs).flatMap(([port, { wires }]) => wires.map((w) => ({ from: w.node, output: w.output, to: n.id, port })))
  )

export const toMermaid = (p: ResolvedPipeline): string => {
  const ids = new Map(p.nodes.map((n, i) => [n.id, `s${i}`]))
  const lines = ["graph TD"]
  for (const n of p.nodes) lines.push(`  ${ids.get(n.id)}["${n.id}<br/>${n.stage.name}"]`)
  for (const e of edges(p)) lines.push(`  ${ids.get(e.from)} -->|${e.output} → ${e.port}| ${ids.get(e.to)}`)
  return lines.join("\n") + "\n"
}

export const toText = (p: ResolvedPipeline): string =>
  p.nodes
    .map((n) => {
      const ins = Object.entries(n.inputs).map(([port, { wires }]) => `${port} ← ${wires.map((w) => `${w.node}.${w.output}`).join(", ")}`)
      return `${n.id} (${n.stage.name})${ins.length ? `\n    ${ins.join("\n    ")}` : ""}`
    })
    .join("\n") + "\n"

export const dag: Command = {
  name: "dag",
  summary: "print the stage graph (text or Mermaid)",
  usage: `tomoprior dag <pipeline.yaml> [--mermaid]

Prints the stages in execution order with their inputs; --mermaid prints a Mermaid flowchart.`,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, { mermaid: { type: "boolean" } })
    const file = onePipelineFile(positionals, io)
    return runCommandEffect(resolvePipelineFile(file).pipe(Effect.provide(builtinRegistry)), io, (p) => {
      io.stdout(values.mermaid ? toMermaid(p) : toText(p))
      return EXIT_OK
    })
  }
}
