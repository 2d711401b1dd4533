import { Schema, SchemaAST } from "effect"

/** One parameter of a stage as a user writes it in `with:`. */
export interface ParamDoc {
  readonly name: string
  /** e.g. `integer ≥ 1`, `number in (0, 1]`, `"unit" | "zscore"`, `[number, number]`. */
  readonly type: string
  /** The default as JSON, when the field has one. */
  readonly default?: string
  readonly description?: string
}

/** A params schema described for people: its fields, and the rules that tie fields together. */
export interface ParamsDoc {
  readonly params: ReadonlyArray<ParamDoc>
  /** The descriptions of the schema's cross-field checks ("`fraction` and `everyK` exclude each other"). */
  readonly rules: ReadonlyArray<string>
}

type JsonNode = {
  readonly type?: string
  readonly enum?: ReadonlyArray<unknown>
  readonly const?: unknown
  readonly anyOf?: ReadonlyArray<JsonNode>
  readonly prefixItems?: ReadonlyArray<JsonNode>
  readonly items?: JsonNode
  readonly properties?: Readonly<Record<string, JsonNode>>
  readonly additionalProperties?: JsonNode | boolean
  readonly minimum?: number
  readonly maximum?: number
  readonly exclusiveMinimum?: number
  readonly exclusiveMaximum?: number
  readonly default?: unknown
  readonly description?: string
}

/** Integer bounds JSON Schema adds for every safe integer: not worth showing. */
const meaningful = (bound: number | undefined): number | undefined =>
  bound === undefined || Math.abs(bound) >= Number.MAX_SAFE_INTEGER ? undefined : bound

const numberType = (node: JsonNode): string => {
  const lo = meaningful(node.exclusiveMinimum) ?? meaningful(node.minimum)
  const hi = meaningful(node.exclusiveMaximum) ?? meaningful(node.maximum)
  const open = node.exclusiveMinimum !== undefined ? "(" : "["
  const close = node.exclusiveMaximum !== undefined ? ")" : "]"
  if (lo !== undefined && hi !== undefined) return `${node.type} in ${open}${lo}, ${hi}${close}`
  if (lo !== undefined) return `${node.type} ${node.exclusiveMinimum !== undefined ? ">" : "≥"} ${lo}`
  if (hi !== undefined) return `${node.type} ${node.exclusiveMaximum !== undefined ? "<" : "≤"} ${hi}`
  return node.type!
}

const typeOf = (node: JsonNode): string => {
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(" | ")
  if (node.const !== undefined) return JSON.stringify(node.const)
  if (node.anyOf) return node.anyOf.map(typeOf).join(" | ")
  if (node.type === "integer" || node.type === "number") return numberType(node)
  if (node.type === "array")
    return node.prefixItems ? `[${node.prefixItems.map(typeOf).join(", ")}]` : `list of ${node.items ? typeOf(node.items) : "values"}`
  if (node.type === "object") {
    if (node.properties && Object.keys(node.properties).length > 0) return `mapping of ${Object.keys(node.properties).join(", ")}`
    return typeof node.additionalProperties === "object" ? `mapping to ${typeOf(node.additionalProperties)}` : "mapping"
  }
  return node.type ?? "value"
}

/** The checks of a schema and of every schema it decodes from (a rule may sit on the struct as written). */
const checksAlong = (ast: SchemaAST.AST): ReadonlyArray<SchemaAST.Check<unknown>> => [
  ...(ast.checks ?? []),
  ...(ast.encoding ?? []).flatMap((link) => checksAlong(link.to))
]

/**
 * What a stage's params schema says to its users: each field's type, default and description (from
 * the schema's JSON Schema, so what `plan` checks is what is documented) and the cross-field rules
 * (the `description` of each check on the struct as written).
 */
export const describeParams = (schema: Schema.Top): ParamsDoc => {
  const json = Schema.toJsonSchemaDocument(schema).schema as JsonNode
  const params = Object.entries(json.properties ?? {}).map(([name, node]): ParamDoc => {
    const doc: ParamDoc = { name, type: typeOf(node) }
    return {
      ...doc,
      ...(node.default === undefined ? {} : { default: JSON.stringify(node.default) }),
      ...(node.description === undefined ? {} : { description: node.description })
    }
  })
  const rules = checksAlong(schema.ast).flatMap((c) => {
    const description = c.annotations?.description
    return typeof description === "string" ? [description] : []
  })
  return { params, rules }
}

const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ")

/** The params as a Markdown table (name, type, default, meaning), then the rules as a list. */
export const paramsMarkdown = (schema: Schema.Top): string => {
  const { params, rules } = describeParams(schema)
  const rows = params.map(
    (p) =>
      `| \`${p.name}\` | ${cell(p.type)} | ${p.default === undefined ? "—" : `\`${cell(p.default)}\``} | ${cell(p.description ?? "")} |`
  )
  const table = params.length === 0 ? ["No parameters."] : ["| param | type | default | meaning |", "| --- | --- | --- | --- |", ...rows]
  return [...table, ...(rules.length === 0 ? [] : ["", "Rules checked before anything runs:", "", ...rules.map((r) => `- ${r}`)])].join(
    "\n"
  )
}
