#!/usr/bin/env node
// Source-first workspace: register tsx so the TypeScript sources run without a build step.
import { register } from "tsx/esm/api"

register()
const { main } = await import("../src/main.ts")

const controller = new AbortController()
let signals = 0
const onSignal = () => {
  signals += 1
  // The first signal interrupts cleanly (temp outputs removed, lease released); a second one forces exit.
  if (signals > 1) process.exit(130)
  controller.abort()
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)

const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
  cwd: process.cwd(),
  env: process.env,
  signal: controller.signal
})
process.exitCode = code
