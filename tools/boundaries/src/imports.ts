import ts from "typescript"

/** One module specifier written in a source file. */
export interface ImportSite {
  readonly specifier: string
  readonly line: number
  readonly column: number
  /** `import type`, `export type … from` and `import("x").T`: erased at run time, still an edge between packages. */
  readonly typeOnly: boolean
}

/**
 * Every literal module specifier of a file: static `import`/`export … from`, `import x = require()`,
 * dynamic `import("…")`, `require("…")` and `import("…")` types. A dynamic import of a computed
 * value (the runner loading a pipeline's `plugins:`) names no package and is not reported.
 */
export const importsOf = (fileName: string, text: string): Array<ImportSite> => {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, scriptKind(fileName))
  const out: Array<ImportSite> = []
  const add = (node: ts.Node | undefined, typeOnly: boolean): void => {
    if (!node || !ts.isStringLiteralLike(node)) return
    const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source))
    out.push({ specifier: node.text, line: line + 1, column: character + 1, typeOnly })
  }
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false)
    else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, node.isTypeOnly)
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node.moduleReference.expression, node.isTypeOnly)
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal, true)
    else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const callee = node.expression
      const dynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword
      const require = ts.isIdentifier(callee) && callee.text === "require"
      if (dynamicImport || require) add(node.arguments[0], false)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return out
}

const scriptKind = (fileName: string): ts.ScriptKind =>
  /\.[cm]?ts$/.test(fileName) ? ts.ScriptKind.TS : /\.tsx$/.test(fileName) ? ts.ScriptKind.TSX : ts.ScriptKind.JS

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for a relative or `node:` one. */
export const packageOf = (specifier: string): string | undefined => {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return undefined
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]
}
