import type { Io } from "./command.ts"

/** An Io whose output the test reads back: stdout and stderr collected, not a terminal, no environment. */
export const captureIo = (cwd: string = process.cwd()) => {
  const out: Array<string> = []
  const err: Array<string> = []
  const io: Io = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), isTTY: false, cwd, env: {} }
  return { io, out: () => out.join(""), err: () => err.join("") }
}
