import { resolve } from "node:path"
import { checkBoundaries } from "./check.ts"
import { layerTable } from "./rules.ts"

// `node --import tsx tools/boundaries/src/main.ts [root]`: exits 1 when a rule is broken;
// `… --table` prints the rules as README.md's table.
if (process.argv[2] === "--table") {
  console.log(layerTable())
  process.exit(0)
}
const root = resolve(process.argv[2] ?? resolve(import.meta.dirname, "../../.."))
const report = checkBoundaries(root)
for (const k of report.known) console.log(`known: ${k}`)
for (const s of report.stale) console.log(`stale: ${s}`)
if (report.violations.length > 0) {
  console.error(`${report.violations.join("\n")}\n${report.violations.length} boundary violation(s); the rules: tools/boundaries/README.md`)
  process.exit(1)
}
console.log(`boundaries: ${report.packages} packages, ${report.files} files, no violations`)
