import type { Diagnostic, SourceLocation } from "@tomoprior/core"
import { readFileSync, statSync } from "node:fs"
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from "yaml"

/** Pipeline files are small; anything bigger is a mistake or an attack on the parser. */
export const MAX_PIPELINE_BYTES = 1 << 20
/** A pipeline has no reason for many aliases; a handful of anchors is allowed, expansion bombs are not. */
export const MAX_ALIASES = 16
const ALLOWED_TAGS = new Set([
  "tag:yaml.org,2002:str",
  "tag:yaml.org,2002:int",
  "tag:yaml.org,2002:float",
  "tag:yaml.org,2002:bool",
  "tag:yaml.org,2002:null",
  "tag:yaml.org,2002:map",
  "tag:yaml.org,2002:seq"
])

/** A parsed YAML file that can say where any value came from. */
export interface YamlFile {
  readonly file: string
  readonly value: unknown
  /** Location of the key (`key: true`) or value at `path`; falls back to the deepest node found. */
  readonly locate: (path: ReadonlyArray<string | number>, key?: boolean) => SourceLocation
}

/**
 * Reads a YAML file defensively: size cap, no tabs in indentation, no duplicate keys, only the core
 * tags (so `!!js/function` and friends are rejected), a small alias budget. Every problem is added
 * to `diagnostics` with its line and column; the file is returned only when it is clean.
 */
export const readYamlFile = (file: string, diagnostics: Array<Diagnostic>): YamlFile | undefined => {
  const at = (line: number, column: number): SourceLocation => ({ file, line, column })
  const size = statSync(file, { throwIfNoEntry: false })?.size
  if (size === undefined) {
    diagnostics.push({ location: at(1, 1), message: `file not found: ${file}` })
    return undefined
  }
  if (size > MAX_PIPELINE_BYTES) {
    diagnostics.push({
      location: at(1, 1),
      message: `pipeline file is ${(size / 1048576).toFixed(1)} MB; the limit is 1 MB`,
      hint: "a pipeline describes stages; keep data in files the stages read"
    })
    return undefined
  }
  const text = readFileSync(file, "utf8")
  const before = diagnostics.length
  text.split("\n").forEach((line, i) => {
    const indent = /^[ \t]*/.exec(line)![0]
    const tab = indent.indexOf("\t")
    if (tab >= 0)
      diagnostics.push({ location: at(i + 1, tab + 1), message: "tab character in indentation", hint: "YAML indents with spaces only" })
  })
  if (diagnostics.length > before) return undefined

  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false })
  const locAt = (offset: number): SourceLocation => {
    const p = lineCounter.linePos(offset)
    return at(p.line, p.col)
  }
  for (const e of doc.errors) {
    diagnostics.push({
      location: locAt(e.pos[0]),
      message: `YAML: ${firstLine(e.message)}`,
      hint: e.code === "DUPLICATE_KEY" ? "each key (and each stage id) may appear only once in a mapping" : undefined
    })
  }
  let aliases = 0
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) {
        aliases += 1
        if (aliases === MAX_ALIASES + 1)
          diagnostics.push({
            location: locAt(node.range?.[0] ?? 0),
            message: `too many YAML aliases (more than ${MAX_ALIASES})`,
            hint: "write the values out; alias expansion is limited to stop 'billion laughs' files"
          })
        return
      }
      const tag = (node as { tag?: string }).tag
      if (tag !== undefined && !ALLOWED_TAGS.has(tag))
        diagnostics.push({
          location: locAt(node.range?.[0] ?? 0),
          message: `YAML tag '${tag.replace("tag:yaml.org,2002:", "!!")}' is not allowed`,
          hint: "pipeline files hold plain data: strings, numbers, booleans, lists and mappings"
        })
    }
  })
  if (diagnostics.length > before) return undefined
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 100 })
  } catch (e) {
    diagnostics.push({ location: at(1, 1), message: `YAML: ${firstLine(String((e as Error).message))}` })
    return undefined
  }
  return { file, value, locate: (path, key = false) => locAt(offsetOf(doc, path, key)) }
}

const firstLine = (s: string): string => s.split("\n")[0]

const offsetOf = (doc: Document, path: ReadonlyArray<string | number>, key: boolean): number => {
  let node: Node | null | undefined = doc.contents as Node | null
  let offset = node?.range?.[0] ?? 0
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]
    const last = i === path.length - 1
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg))
      if (!pair) return offset
      const keyNode = pair.key as Node
      if (last && key) return keyNode.range?.[0] ?? offset
      node = pair.value as Node | null
      offset = node?.range?.[0] ?? keyNode.range?.[0] ?? offset
    } else if (isSeq(node) && typeof seg === "number") {
      node = node.items[seg] as Node | undefined
      if (!node) return offset
      offset = node.range?.[0] ?? offset
    } else return offset
  }
  return offset
}
