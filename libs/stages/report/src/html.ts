/** Minimal HTML building: every text that came from data goes through `escape`. */

export const escape = (s: string): string =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;")

export interface TableOptions {
  readonly cls?: string
  /** `rowClasses[i]` styles row i (e.g. a headline row). */
  readonly rowClasses?: ReadonlyArray<string>
  /** Plain text under the caption's title: what the columns mean. */
  readonly detail?: string
}

/** A table whose cells are already HTML (escape text cells with `escape`). */
const row = (cells: ReadonlyArray<string>, cls: string | undefined): string =>
  `<tr${cls ? ` class="${cls}"` : ""}>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`

export const table = (
  caption: string,
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  opts: TableOptions = {}
): string =>
  `<table${opts.cls ? ` class="${opts.cls}"` : ""}><caption>${escape(caption)}${opts.detail ? `<small>${escape(opts.detail)}</small>` : ""}</caption>` +
  `<thead><tr>${header.map((h) => `<th>${escape(h)}</th>`).join("")}</tr></thead>` +
  `<tbody>${rows.map((r, i) => row(r, opts.rowClasses?.[i])).join("")}</tbody></table>`

export const section = (id: string, title: string, body: string): string =>
  `<section id="${escape(id)}"><h2>${escape(title)}</h2>${body}</section>`

export const note = (text: string): string => `<p class="note">${escape(text)}</p>`

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; } caption { text-align: left; font-weight: 600; padding: .3em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; } th:first-child, td:first-child { text-align: left; }
.note { color: #555; } figure { display: inline-block; margin: .5em; vertical-align: top; }
figcaption { font-size: .85em; color: #444; max-width: 420px; }
caption small { display: block; font-weight: normal; color: #444; max-width: 900px; }
tr.headline td { font-weight: 700; border-top: 2px solid #888; } p.headline { font-weight: 600; }
tr.whole-body td { color: #777; } tr.whole-body small { display: block; max-width: 380px; }
mark.best { background: #fde9a8; padding: 0 .2em; } mark.best.below-baseline { background: none; outline: 1px dashed #b08d00; }
img.slice { image-rendering: pixelated; width: 420px; }
`

export const page = (title: string, body: string): string =>
  `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>` +
  `<style>${STYLE}</style></head><body><h1>${escape(title)}</h1>${body}</body></html>\n`
