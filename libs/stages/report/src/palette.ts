/**
 * The one place that decides a method's color. Every chart and legend of the report takes its
 * colors from here, so "sorting" is the same blue whether a report shows one method or five and
 * in whatever order the inputs were wired. Colors are Okabe–Ito (readable with the common forms
 * of color blindness).
 */

const OKABE_ITO = {
  black: "#000000",
  orange: "#E69F00",
  skyBlue: "#56B4E9",
  bluishGreen: "#009E73",
  blue: "#0072B2",
  vermillion: "#D55E00",
  reddishPurple: "#CC79A7"
} as const

/** Methods the project knows, in the order legends list them: the baseline first. */
const KNOWN_METHODS: ReadonlyArray<readonly [string, string]> = [
  ["none", OKABE_ITO.black],
  ["sorting", OKABE_ITO.blue],
  ["simclr", OKABE_ITO.vermillion],
  ["logistic", OKABE_ITO.bluishGreen]
]

/** Names other stages use for "no pre-training". */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ["random", "none"],
  ["random init", "none"],
  ["scratch", "none"]
])

/**
 * Unknown methods get one of these by a hash of their name, so the choice does not depend on the
 * other methods in the report. Two unknown methods can collide: give a method that stays in the
 * project its own entry in KNOWN_METHODS. (Okabe–Ito yellow is left out: too faint on white.)
 */
const SPARE = [OKABE_ITO.orange, OKABE_ITO.reddishPurple, OKABE_ITO.skyBlue] as const

/** Not a method: baselines that use no encoder at all (e.g. proportional placement). */
export const BASELINE_GREY = "#BBBBBB"

const knownColor = new Map(KNOWN_METHODS)
const knownRank = new Map(KNOWN_METHODS.map(([m], i) => [m, i]))

/** "simclr (PC1 of embeddings)" → "simclr", "Random init" → "none": the part that picks the color. */
export const methodKey = (label: string): string => {
  const base = label
    .replace(/\s*\(.*$/, "")
    .trim()
    .toLowerCase()
  return ALIASES.get(base) ?? base
}

const hash = (s: string): number => {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return h >>> 0
}

export const methodColor = (label: string): string => {
  const key = methodKey(label)
  return knownColor.get(key) ?? SPARE[hash(key) % SPARE.length]
}

/** Known methods in their fixed order, then the rest alphabetically; duplicates dropped. */
export const sortMethods = (labels: Iterable<string>): Array<string> =>
  [...new Set(labels)].sort((a, b) => {
    const ra = knownRank.get(methodKey(a)) ?? KNOWN_METHODS.length
    const rb = knownRank.get(methodKey(b)) ?? KNOWN_METHODS.length
    return ra - rb || a.localeCompare(b)
  })

/**
 * A Vega-Lite color scale that pins each method label to its color. Labels of one method (variants
 * such as "sorting (margin=0.1)" and "sorting (margin=0.5)") get shades of it, in legend order
 * from the full color to the lightest tint, so they stay apart on one chart.
 */
export const methodScale = (labels: Iterable<string>): { domain: Array<string>; range: Array<string> } => {
  const domain = sortMethods(labels)
  const range = domain.map((label) => {
    const family = domain.filter((l) => methodKey(l) === methodKey(label))
    return family.length === 1 ? methodColor(label) : shades(methodColor(label), family.length).reverse()[family.indexOf(label)]
  })
  return { domain, range }
}

const channels = (hex: string): [number, number, number] =>
  [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number]
const toHex = (rgb: ReadonlyArray<number>): string =>
  `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, "0")).join("")}`.toUpperCase()

/**
 * `n` shades of one color, from a light tint to the color itself: separates the items of one
 * method's panel (e.g. volumes) without borrowing another method's hue.
 */
export const shades = (hex: string, n: number): Array<string> => {
  const rgb = channels(hex)
  return Array.from({ length: n }, (_, i) => {
    const tint = n === 1 ? 0 : 0.6 * (1 - i / (n - 1))
    return toHex(rgb.map((c) => c + (255 - c) * tint))
  })
}
