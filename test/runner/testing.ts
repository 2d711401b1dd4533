import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { main } from "@tomoprior/cli"
import { artifactDir, hashFileContent, RunRecord, readJsonFile, storeLayout } from "@tomoprior/runner"
import { Manifest } from "@tomoprior/core"

export const REPO = resolve(import.meta.dirname, "../..")
export const BIN = join(REPO, "apps/cli/bin/tomoprior.js")
/** The fake stages plug-in, loaded by absolute path. */
export const FAKE = join(import.meta.dirname, "fixtures/fake-stages")

export const tempDir = (prefix = "tomoprior-runner-"): string => mkdtempSync(join(tmpdir(), prefix))

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI in this process (fast: stage libraries are imported once per test file). */
export const cli = async (args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}): Promise<CliResult> => {
  let stdout = ""
  let stderr = ""
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    isTTY: false,
    cwd,
    env: { ...env }
  })
  return { code, stdout, stderr }
}

/** Runs the CLI as a child process (for signals, kills and concurrent runs). */
export const spawnCli = (args: ReadonlyArray<string>, cwd: string): ChildProcess =>
  spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TOMOPRIOR_STORE: "" } })

export const finished = (child: ChildProcess): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> =>
  new Promise((res) => {
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (d) => (stdout += d))
    child.stderr!.on("data", (d) => (stderr += d))
    child.on("close", (code, signal) => res({ code, signal, stdout, stderr }))
  })

/** Resolves when the child's stdout contains `text`. */
export const waitForOutput = (child: ChildProcess, text: string): Promise<void> =>
  new Promise((res, rej) => {
    let seen = ""
    const on = (d: Buffer) => {
      seen += d
      if (seen.includes(text)) {
        child.stdout!.off("data", on)
        res()
      }
    }
    child.stdout!.on("data", on)
    child.on("close", () => rej(new Error(`exited before printing ${text}: ${seen}`)))
  })

/** Writes a pipeline into `dir` (plug-in path substituted for `$FAKE`) and returns its path. */
export const writePipeline = (dir: string, name: string, yaml: string): string => {
  const file = join(dir, name)
  writeFileSync(file, yaml.replaceAll("$FAKE", FAKE))
  return file
}

export const jsonLines = (text: string): Array<Record<string, any>> =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))

/** Stage ids with a given event type in `--json` output. */
export const stagesWith = (out: string, type: string): Array<string> =>
  jsonLines(out)
    .filter((e) => e.type === type)
    .map((e) => e.stage)
    .sort()

/**
 * Checks the store's promise: every run record names artifacts whose every file exists with the
 * size and content hash its manifest lists. Returns the run records' output hashes by stage id.
 */
export const verifyStore = async (storeDir: string): Promise<Map<string, Record<string, string>>> => {
  const store = storeLayout(storeDir)
  const out = new Map<string, Record<string, string>>()
  for (const f of readdirSync(store.runs)) {
    if (!f.endsWith(".json")) continue
    const record = await readJsonFile(join(store.runs, f), RunRecord)
    if (!record) throw new Error(`unreadable run record ${f}`)
    for (const hash of Object.values(record.outputs)) {
      const dir = artifactDir(store, hash)
      const manifest = await readJsonFile(join(dir, "manifest.json"), Manifest)
      if (!manifest) throw new Error(`run record ${f} points at ${hash} without a manifest`)
      for (const file of manifest.files) {
        const actual = await hashFileContent(join(dir, file.path))
        if (actual !== file.hash || readFileSync(join(dir, file.path)).length !== file.size)
          throw new Error(`artifact ${hash}: ${file.path} does not match its manifest`)
      }
    }
    out.set(record.stage, record.outputs)
  }
  return out
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
