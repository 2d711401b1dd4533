#!/usr/bin/env node
// Prettier wraps code at 140 columns but never breaks a string literal or a comment; this catches
// the lines it leaves long. The limit sits above prettier's width so only real outliers fail.
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"

const LIMIT = Number(process.argv[2] ?? 160)
const files = execFileSync("git", ["ls-files", "*.ts", "*.mjs", "*.js", "*.cc", "*.h"], { encoding: "utf8" }).split("\n").filter(Boolean)
const long = []
for (const file of files) {
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (line.length > LIMIT) long.push(`${file}:${i + 1}: ${line.length} characters`)
    })
}
if (long.length > 0) {
  console.error(`${long.length} line(s) over ${LIMIT} characters (split the string or comment):\n${long.join("\n")}`)
  process.exit(1)
}
