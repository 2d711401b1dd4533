#!/usr/bin/env node
// First, before any (slow) import, so that Ctrl-C during start-up is a clean interrupt too.
const controller = new AbortController()
const onSignal = () => {
  // The first signal interrupts cleanly (temp outputs removed, lease released); a second one exits at once.
  if (!controller.signal.aborted) return controller.abort()
  // The store stays consistent anyway: outputs reach it by atomic renames, and the next run clears
  // temp outputs and breaks this process's lease.
  process.stderr.write("interrupted again: exiting without cleaning up; the next run removes the temporary outputs\n")
  process.exit(130)
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)
// `tomoprior stages | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0)
  throw e
})

// Source-first workspace: register tsx so the TypeScript sources run without a build step.
const { register } = await import("tsx/esm/api")
register()
const { main } = await import("../src/main.ts")

const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
  cwd: process.cwd(),
  env: process.env,
  signal: controller.signal
})
process.exitCode = code
