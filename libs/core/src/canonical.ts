/**
 * Canonical JSON: object keys sorted, no whitespace, -0 written as 0, non-finite numbers rejected.
 * Two values that mean the same thing give the same text, so the text can be hashed into cache keys.
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`cannot canonicalise non-finite number ${value}`)
      return Object.is(value, -0) ? "0" : JSON.stringify(value)
    case "string":
    case "boolean":
      return JSON.stringify(value)
    case "undefined":
      return "null"
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
    }
    default:
      throw new TypeError(`cannot canonicalise a ${typeof value}`)
  }
}
