/**
 * Test support: reads what vega drew back out of the SVG the report embeds (vega labels every mark
 * with its fields in `aria-label`), so tests check the rendered chart, not the spec.
 */

export const svgsOf = (html: string): Array<string> => html.match(/<svg[\s\S]*?<\/svg>/g) ?? []

/** (legend title, label, color) of every legend entry: the symbol (filled, or a stroke for lines) comes before its label. */
export const legendEntries = (svg: string): Array<{ readonly title: string; readonly label: string; readonly color: string }> =>
  svg
    .split('aria-roledescription="legend"')
    .slice(1)
    .flatMap((legend) => {
      const title = /^ aria-label="Symbol legend titled '([^']*)'/.exec(legend)?.[1] ?? ""
      const body = legend.split('class="mark-group role-legend"')[0]
      const entries = body.matchAll(
        /role-legend-symbol[^>]*>\s*<path[^>]*(?:fill|stroke)="(#[0-9A-Fa-f]{6})"[\s\S]*?role-legend-label[^>]*>\s*<text[^>]*>([^<]*)<\/text>/g
      )
      return [...entries].map((m) => ({ title, label: m[2], color: m[1].toUpperCase() }))
    })

export interface Mark {
  readonly kind: string
  readonly fields: Record<string, string>
  readonly color: string
}

/** Every line, point, bar and error bar with the fields vega wrote into its aria-label. */
export const marksOf = (svg: string): Array<Mark> =>
  [...svg.matchAll(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="(line mark|point|bar|errorbar)"([^>]*)>/g)].map(
    (m) => {
      const fields = Object.fromEntries(m[1].split("; ").map((kv) => [kv.slice(0, kv.indexOf(": ")), kv.slice(kv.indexOf(": ") + 2)]))
      const paint = m[2] === "line mark" || m[2] === "errorbar" ? "stroke" : "fill"
      return { kind: m[2], fields, color: (new RegExp(`${paint}="(#[0-9A-Fa-f]{6})"`).exec(m[3])?.[1] ?? "none").toUpperCase() }
    }
  )

/**
 * Bars of a faceted chart by the title of their panel: vega draws each panel's bars, then the
 * panel's title (the facet value) below them.
 */
export const barsByPanel = (svg: string): Map<string, Array<Mark>> => {
  const panels = new Map<string, Array<Mark>>()
  let pending: Array<Mark> = []
  for (const m of svg.matchAll(
    /<path aria-label="[^"]*" role="graphics-symbol" aria-roledescription="bar"[^>]*>|aria-label="Title text '([^']*)'"/g
  )) {
    if (m[1] === undefined) {
      pending.push(...marksOf(m[0]))
    } else {
      panels.set(m[1], pending)
      pending = []
    }
  }
  return panels
}
