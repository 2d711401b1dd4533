import { readdirSync } from "node:fs"
import { isAbsolute, join, resolve, sep } from "node:path"

const GLOB_CHARS = /[*?[]/

/**
 * A pattern's brace alternatives, as shells and minimatch expand them: `a{b,c}d` → `abd`, `acd`
 * (nested groups too). A group without a comma stays literal, so a label rule's `{name}` is no glob.
 */
export const expandBraces = (pattern: string): ReadonlyArray<string> => {
  for (let open = pattern.indexOf("{"); open >= 0; open = pattern.indexOf("{", open + 1)) {
    const cuts: Array<number> = []
    let depth = 0
    for (let i = open; i < pattern.length; i++) {
      const c = pattern[i]
      if (c === "{") depth++
      else if (c === "," && depth === 1) cuts.push(i)
      else if (c === "}" && --depth === 0) {
        if (cuts.length === 0) break
        const bounds = [open, ...cuts, i]
        const head = pattern.slice(0, open)
        const tail = pattern.slice(i + 1)
        return bounds.slice(1).flatMap((end, k) => expandBraces(head + pattern.slice(bounds[k] + 1, end) + tail))
      }
    }
  }
  return [pattern]
}

export const isGlob = (pattern: string): boolean => GLOB_CHARS.test(pattern) || expandBraces(pattern).length > 1

/** One path segment of a glob as a regular expression (`*`, `?`, `[...]`). */
const segmentRegex = (segment: string): RegExp => {
  let re = ""
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]
    if (c === "*") re += "[^/]*"
    else if (c === "?") re += "[^/]"
    else if (c === "[") {
      const end = segment.indexOf("]", i + 1)
      if (end < 0) re += "\\["
      else {
        re += `[${segment
          .slice(i + 1, end)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\")}]`
        i = end
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&")
  }
  return new RegExp(`^${re}$`)
}

/**
 * Files and directories matching a glob (`*`, `?`, `[...]`, `**` for any depth, `{a,b}`
 * alternatives), resolved against `baseDir`, sorted. Hidden entries match only when the pattern
 * names them explicitly.
 */
export const matchGlob = (pattern: string, baseDir: string): ReadonlyArray<string> => {
  const alternatives = expandBraces(pattern)
  if (alternatives.length > 1) return [...new Set(alternatives.flatMap((p) => matchGlob(p, baseDir)))].sort()
  const absolute = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern)
  const parts = absolute.split(sep).filter((p) => p !== "")
  const firstGlob = parts.findIndex((p) => isGlob(p))
  if (firstGlob < 0) return [absolute]
  const root = sep + parts.slice(0, firstGlob).join(sep)
  const out = new Set<string>()
  const list = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith("."))
    } catch {
      return []
    }
  }
  const walk = (dir: string, rest: ReadonlyArray<string>) => {
    if (rest.length === 0) {
      out.add(dir)
      return
    }
    const [head, ...tail] = rest
    if (head === "**") {
      walk(dir, tail)
      for (const e of list(dir)) if (e.isDirectory()) walk(join(dir, e.name), rest)
      return
    }
    if (!isGlob(head)) {
      walk(join(dir, head), tail)
      return
    }
    const re = segmentRegex(head)
    for (const e of list(dir)) if (re.test(e.name) && (tail.length === 0 || e.isDirectory())) walk(join(dir, e.name), tail)
  }
  walk(root, parts.slice(firstGlob))
  return [...out].sort()
}
