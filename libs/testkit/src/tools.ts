import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"

/** Debian's python3, where numpy, nibabel, h5py, pydicom, onnx… are installed (the pyenv python on PATH has none). */
export const PYTHON = "/usr/bin/python3"

/** Whether Debian's python3 imports every module named (tests skip, naming the package, when not). */
export const hasPythonModules = (...modules: ReadonlyArray<string>): boolean =>
  existsSync(PYTHON) && spawnSync(PYTHON, ["-c", `import ${modules.join(", ")}`], { stdio: "ignore" }).status === 0

export const hasCommand = (command: string): boolean => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0

/** Runs a command and fails the test with its output when it does not exit 0; returns its stdout. */
export const run = (command: string, args: ReadonlyArray<string>, input?: string): string => {
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, ...(input === undefined ? {} : { input }) })
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout || r.error}`)
  return r.stdout
}
