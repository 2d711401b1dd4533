import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { isBuiltin } from "node:module"
import { dirname, join, relative, resolve, sep } from "node:path"
import { importsOf, packageOf } from "./imports.ts"
import { isTestFile, KNOWN_VIOLATIONS, type Layer, LAYERS, type LayerRule } from "./rules.ts"

/** A workspace package as the check sees it. */
export interface WorkspacePackage {
  readonly name: string
  /** Its directory, relative to the workspace root, `/`-separated. */
  readonly dir: string
  readonly layer: Layer | undefined
  /** Everything its package.json lets it import: dependencies of every kind and its own name. */
  readonly declared: ReadonlySet<string>
  /** Its `layer:` tags as written, to say what is wrong when there is not exactly one known layer. */
  readonly layerTags: ReadonlyArray<string>
  /** Whether it has a `test` script (the target `nx run-many -t test` runs). */
  readonly tested: boolean
}

export interface Report {
  /** `file:line:column: message`, one per broken rule. */
  readonly violations: ReadonlyArray<string>
  /** Violations listed in KNOWN_VIOLATIONS (reported, not failing). */
  readonly known: ReadonlyArray<string>
  /** KNOWN_VIOLATIONS entries that no longer occur. */
  readonly stale: ReadonlyArray<string>
  readonly packages: number
  readonly files: number
}

const SOURCE = /\.(ts|mts|cts|tsx|js|mjs|cjs)$/
const posix = (p: string): string => p.split(sep).join("/")

/** The packages the root package.json's `workspaces` patterns (`dir` or `dir/*`) name. */
export const readWorkspace = (root: string): Array<WorkspacePackage> => {
  const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces?: ReadonlyArray<string> }
  const dirs = (rootPkg.workspaces ?? []).flatMap((pattern) => {
    if (!pattern.endsWith("/*")) return [pattern]
    const parent = pattern.slice(0, -2)
    if (!existsSync(join(root, parent))) return []
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `${parent}/${e.name}`)
  })
  return dirs
    .filter((dir) => existsSync(join(root, dir, "package.json")))
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
        name: string
        dependencies?: Record<string, string>
        devDependencies?: Record<string, string>
        peerDependencies?: Record<string, string>
        optionalDependencies?: Record<string, string>
        nx?: { tags?: ReadonlyArray<string> }
        scripts?: Record<string, string>
      }
      const layers = (pkg.nx?.tags ?? []).filter((t) => t.startsWith("layer:")).map((t) => t.slice("layer:".length))
      const declared = new Set([
        pkg.name,
        ...Object.keys(pkg.dependencies ?? {}),
        ...Object.keys(pkg.devDependencies ?? {}),
        ...Object.keys(pkg.peerDependencies ?? {}),
        ...Object.keys(pkg.optionalDependencies ?? {})
      ])
      const layer = layers.length === 1 && layers[0] in LAYERS ? (layers[0] as Layer) : undefined
      return { name: pkg.name, dir, layer, declared, layerTags: layers, tested: pkg.scripts?.test !== undefined }
    })
}

/**
 * Checks every source file of every workspace package: each package it imports is declared in its
 * package.json (Nx draws the graph from those declarations), no relative import leaves the package,
 * and each workspace import is allowed by the layer rules in rules.ts.
 */
export const checkBoundaries = (root: string): Report => {
  const packages = readWorkspace(root)
  const byName = new Map(packages.map((p) => [p.name, p]))
  const packageDirs = new Set(packages.map((p) => p.dir))
  const found: Array<{ file: string; specifier: string; message: string }> = []
  const undeclared = new Map<string, { pkg: WorkspacePackage; name: string; inSource: boolean; at: (message: string) => void }>()
  let files = 0

  for (const pkg of packages) {
    if (!pkg.layer) {
      const got = pkg.layerTags.length === 0 ? "no layer tag" : `tags ${pkg.layerTags.map((t) => `layer:${t}`).join(", ")}`
      found.push({
        file: `${pkg.dir}/package.json`,
        specifier: "",
        message: `1:1: ${pkg.name} has ${got}; give it exactly one of ${Object.keys(LAYERS)
          .map((l) => `layer:${l}`)
          .join(", ")} in "nx": { "tags": [...] } (see tools/boundaries/README.md)`
      })
      continue
    }
    const rule: LayerRule = LAYERS[pkg.layer]
    const sources = sourceFiles(join(root, pkg.dir), packageDirs, root)
    const testFile = sources.find((f) => f.endsWith(".test.ts"))
    if (testFile && !pkg.tested)
      found.push({
        file: `${pkg.dir}/package.json`,
        specifier: "",
        message: `1:1: ${pkg.name} has tests (${posix(relative(root, testFile))}) but no "test" script, so \`nx run-many -t test\` skips them`
      })
    for (const file of sources) {
      files += 1
      const rel = posix(relative(root, file))
      const test = isTestFile(rel)
      for (const site of importsOf(file, readFileSync(file, "utf8"))) {
        const at = (message: string) =>
          found.push({ file: rel, specifier: site.specifier, message: `${site.line}:${site.column}: ${message}` })
        if (site.specifier.startsWith(".")) {
          const target = posix(relative(join(root, pkg.dir), resolve(dirname(file), site.specifier)))
          if (target.startsWith("../"))
            at(
              `relative import \`${site.specifier}\` leaves ${pkg.dir}/; import the other package by name (export the module from its package.json if needed)`
            )
          continue
        }
        const name = packageOf(site.specifier)
        if (!name || isBuiltin(site.specifier)) continue
        if (!pkg.declared.has(name)) {
          const seen = undeclared.get(`${pkg.name} ${name}`)
          if (seen) seen.inSource ||= !test
          else undeclared.set(`${pkg.name} ${name}`, { pkg, name, inSource: !test, at })
          continue
        }
        const target = byName.get(name)
        if (!target?.layer || name === pkg.name) continue
        const allowed: ReadonlyArray<string> = [...rule.imports, ...(test ? (rule.testImports ?? []) : [])]
        if (!allowed.includes(target.layer)) {
          const testOnly = (rule.testImports ?? []).includes(target.layer)
          at(
            `${pkg.name} (layer:${pkg.layer}) imports ${name} (layer:${target.layer})${testOnly ? " outside test code" : ""}: ${
              testOnly ? LAYERS[target.layer].rule : rule.rule
            }`
          )
        }
      }
    }
  }

  // One report per missing declaration, at its first import; a dependency if any non-test code needs it.
  for (const { pkg, name, inSource, at } of undeclared.values())
    at(
      `${pkg.name} imports \`${name}\` but its package.json does not declare it; ` +
        `add it to ${inSource ? "dependencies" : "devDependencies"} (Nx draws the project graph from them)`
    )

  const isKnown = (v: { file: string; specifier: string }) => KNOWN_VIOLATIONS.some((k) => k.file === v.file && k.specifier === v.specifier)
  const format = (v: { file: string; message: string }) => `${v.file}:${v.message}`
  return {
    violations: found.filter((v) => !isKnown(v)).map(format),
    known: found
      .filter(isKnown)
      .map((v) => `${format(v)} (known: ${KNOWN_VIOLATIONS.find((k) => k.file === v.file && k.specifier === v.specifier)!.why})`),
    stale: KNOWN_VIOLATIONS.filter((k) => !found.some((v) => v.file === k.file && v.specifier === k.specifier)).map(
      (k) => `${k.file}: \`${k.specifier}\` no longer occurs; remove it from KNOWN_VIOLATIONS in tools/boundaries/src/rules.ts`
    ),
    packages: packages.length,
    files
  }
}

/** Source files under `dir`, leaving out node_modules, hidden directories and nested workspace packages. */
const sourceFiles = (dir: string, packageDirs: ReadonlySet<string>, root: string): Array<string> => {
  const out: Array<string> = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) {
        if (e.name === "node_modules" || e.name.startsWith(".") || packageDirs.has(posix(relative(root, p)))) continue
        walk(p)
      } else if (SOURCE.test(e.name) && statSync(p).isFile()) out.push(p)
    }
  }
  walk(dir)
  return out.sort()
}
