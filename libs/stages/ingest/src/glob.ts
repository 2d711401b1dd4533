import { readdirSync } from "node:fs"
import { isAbsolute, join, resolve, sep } from "node:path"

const GLOB_CHARS = /[*?[]/

export const isGlob = (pattern: string): boolean => GLOB_CHARS.test(pattern)

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
 * Files and directories matching a glob (`*`, `?`, `[...]`, `**` for any depth), resolved
 * against `baseDir`, sorted. Hidden entries match only when the pattern names them explicitly.
 */
export const matchGlob = (pattern: string, baseDir: string): ReadonlyArray<string> => {
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
