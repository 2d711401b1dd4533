import type { Comparison } from "./table.ts"

type Metric = Comparison["metrics"][number]

const scaled = (m: Pick<Metric, "scale">, v: number): number => (m.scale === "percent" ? 100 * v : v)
const digits = (m: Pick<Metric, "scale">): number => (m.scale === "percent" ? 1 : 3)

const cell = (m: Metric, c: Metric["values"][number]): string => {
  if (c === null) return "–"
  const v = scaled(m, c.value).toFixed(digits(m))
  if (c.interval) return `${signed(m, c.value)} [${signed(m, c.interval[0])}, ${signed(m, c.interval[1])}]`
  return c.std !== undefined && (c.n ?? 0) > 1 ? `${v} ± ${scaled(m, c.std).toFixed(digits(m))}` : v
}

const signed = (m: Metric, d: number): string => {
  const t = scaled(m, d).toFixed(digits(m))
  return d > 0 ? `+${t}` : t
}

/** Rows of the table: a header, the changed params, then the metrics (names carry the scale). */
const rows = (c: Comparison): { header: Array<string>; params: Array<Array<string>>; metrics: Array<Array<string>> } => {
  const diff = c.runs.length === 2
  const header = ["", ...c.runs.map((r) => r.label), ...(diff ? ["Δ"] : [])]
  const params = c.params.map((p) => [p.name, ...p.values.map((v) => v ?? "–"), ...(diff ? [""] : [])])
  const metrics = c.metrics.map((m) => [
    m.scale === "percent" ? `${m.name} ×100` : m.name,
    ...m.values.map((v) => cell(m, v)),
    ...(diff ? [m.difference === undefined ? "" : signed(m, m.difference)] : [])
  ])
  return { header, params, metrics }
}

const notes = (c: Comparison): Array<string> => [
  ...(c.runs.length === 2 ? [`Δ = ${c.runs[1].label} − ${c.runs[0].label}`] : []),
  ...(c.metrics.some((m) => m.values.some((v) => v?.std !== undefined && (v.n ?? 0) > 1)) ? ["± = sample std over seeds"] : []),
  ...(c.metrics.some((m) => m.values.some((v) => v?.interval))
    ? ["a − b [low, high] = paired difference with its 95 % bootstrap interval"]
    : []),
  ...(c.missing.length ? [`not in this store (run them against it, or pass --store): ${c.missing.join(", ")}`] : []),
  ...c.unreadable.map((u) => `no headlines from ${u.stage}: ${u.problem}`)
]

/** An aligned plain-text table for the terminal. */
export const comparisonText = (c: Comparison): string => {
  const { header, params, metrics } = rows(c)
  const all = [header, ...params, ...metrics]
  const widths = header.map((_, j) => Math.max(...all.map((r) => r[j].length)))
  const line = (r: Array<string>) =>
    r
      .map((v, j) => (j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j])))
      .join("  ")
      .trimEnd()
  const rule = widths.map((w) => "-".repeat(w)).join("  ")
  const body = [
    line(header),
    ...(params.length ? [rule, ...params.map(line)] : []),
    ...(metrics.length ? [rule, ...metrics.map(line)] : ["(no headline metrics in these runs)"])
  ]
  return [...body, ...notes(c)].join("\n") + "\n"
}

/** A GitHub-flavoured Markdown table (params first, then metrics). */
export const comparisonMarkdown = (c: Comparison): string => {
  const { header, params, metrics } = rows(c)
  const esc = (v: string) => v.replaceAll("|", "\\|")
  const line = (r: Array<string>) => `| ${r.map(esc).join(" | ")} |`
  const align = `|${header.map((_, j) => (j === 0 ? "---" : "---:")).join("|")}|`
  const body = [line(header), align, ...params.map(line), ...metrics.map(line)]
  return [...body, ...notes(c).map((n) => `\n${n}`)].join("\n") + "\n"
}
