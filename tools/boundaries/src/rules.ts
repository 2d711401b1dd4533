/**
 * The layers of the workspace and what each may import. Every workspace package carries exactly one
 * `layer:<name>` tag in its package.json (`"nx": { "tags": [...] }`), so `nx show projects --projects
 * tag:layer:stage` lists a layer too. A layer may import only the layers listed (a layer absent from
 * its own list may not import its peers); `testImports` are allowed only from test code.
 */
export const LAYERS = {
  core: {
    holds: "@tomoprior/core: the stage contract, artifact kinds, schemas, typed errors",
    rule: "core imports no workspace package",
    imports: []
  },
  volume: {
    holds: "@tomoprior/volume, augment, stats: data and numbers on the CPU (formats, slice store, phantoms, augmentations, statistics)",
    rule: "CPU data code builds on core and its own layer, never on compute, the runner, a stage or the app",
    imports: ["core", "volume"],
    testImports: ["testkit"]
  },
  compute: {
    holds:
      "@tomoprior/compute, @tomoprior/pretrain, @tomoprior/native: tensors (backends, kernels, models, trainer, the shared pre-training loop)",
    rule: "compute builds on core and volume, never on the runner, a stage or the app",
    imports: ["core", "volume", "compute"],
    testImports: ["testkit"]
  },
  runner: {
    holds: "@tomoprior/runner: YAML, planning, cache keys, store, executors",
    rule: "the runner imports no stage and no compute (it gets stages from the StageRegistry the app provides)",
    imports: ["core"],
    testImports: ["testkit"]
  },
  stage: {
    holds: "libs/stages/* and third-party plug-ins such as examples/plugin-hello: one stage type each",
    rule: "stages never import the runner, another stage or the app",
    imports: ["core", "volume", "compute"],
    testImports: ["testkit"]
  },
  testkit: {
    holds: "@tomoprior/testkit: helpers for stage tests",
    rule: "testkit is imported only by test code (*.test.ts, testing.ts) and the app",
    imports: ["core", "volume"]
  },
  app: {
    holds:
      "@tomoprior/cli and what only it uses (catalog, bench, compare), @tomoprior/e2e: the only places that compose stages, runner and compute",
    rule: "only the app composes",
    imports: ["core", "volume", "compute", "runner", "stage", "testkit", "app"]
  },
  tooling: {
    holds: "tools/*: the Nx plug-in and this check; nothing imports them",
    rule: "tooling is not imported by the product",
    imports: ["core", "volume", "compute", "runner", "stage", "testkit", "app", "tooling"]
  }
} as const satisfies Record<string, LayerRule>

export interface LayerRule {
  /** Which packages sit in the layer. */
  readonly holds: string
  /** The rule a violation breaks, as the error message states it. */
  readonly rule: string
  readonly imports: ReadonlyArray<string>
  readonly testImports?: ReadonlyArray<string>
}

export type Layer = keyof typeof LAYERS

/** The rules as the Markdown table in README.md (a test keeps the two equal). */
export const layerTable = (): string =>
  [
    "| tag | holds | may import | rule |",
    "|---|---|---|---|",
    ...Object.entries(LAYERS).map(([layer, r]: [string, LayerRule]) => {
      const imports = r.imports.length === 0 ? "nothing" : r.imports.join(", ")
      const tests = r.testImports ? ` (+ ${r.testImports.join(", ")} in test code)` : ""
      return `| \`layer:${layer}\` | ${r.holds} | ${imports}${tests} | ${r.rule} |`
    })
  ].join("\n")

/** Test code: test files and the `testing.ts` helper modules beside them. */
export const isTestFile = (file: string): boolean => /(^|\/)([^/]+\.test|testing)\.[cm]?[jt]s$/.test(file)

/**
 * Violations found on main that belong to someone else's area; the check reports them as known
 * instead of failing, until they are fixed (then it asks for the entry to be removed).
 */
export const KNOWN_VIOLATIONS: ReadonlyArray<{ readonly file: string; readonly specifier: string; readonly why: string }> = []
