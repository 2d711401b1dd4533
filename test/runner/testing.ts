import assert from "node:assert/strict"
import { spawn, type ChildProcess } from "node:child_process"
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
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

/** Two system accounts (nobody, daemon) and a group neither belongs to in /etc/group: what counts is the gid they run with. */
export const ALICE = { uid: 65534, gid: 4242 }
export const BOB = { uid: 1, gid: 4242 }
export type User = typeof ALICE

/** Acting as two users needs root. */
export const skipUnlessRoot = process.getuid?.() === 0 ? undefined : "needs root to run the CLI as two different users"

/** The CLI as `user` in a child process, with the umask most systems give users (022: no group write). */
export const spawnCliAs = (user: User, args: ReadonlyArray<string>, cwd: string): ChildProcess =>
  spawn("/bin/sh", ["-c", 'umask 022; exec "$0" "$@"', process.execPath, BIN, ...args], {
    cwd,
    uid: user.uid,
    gid: user.gid,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TOMOPRIOR_STORE: "", HOME: cwd }
  })

/**
 * A project directory and a store in it, set up as an administrator sets them up for a group: owned
 * by root and the group, setgid, the store only for the group (2770). Needs root.
 */
export const groupSharedStore = (prefix?: string): { dir: string; store: string } => {
  const dir = tempDir(prefix)
  chmodSync(dir, 0o2775)
  chownSync(dir, 0, ALICE.gid)
  const store = join(dir, "store")
  mkdirSync(store)
  chownSync(store, 0, ALICE.gid)
  chmodSync(store, 0o2770)
  return { dir, store }
}

const everything = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? [p, ...everything(p)] : [p]
  })

/**
 * What a group-shared store promises for every path in it, whoever created it: the group's,
 * directories setgid and group-writable, files group-readable, and group-writable unless they are
 * a committed artifact's (read-only for everyone). Returns the paths it checked.
 */
export const assertGroupShared = (store: string, gid: number): Array<string> => {
  const paths = everything(store)
  for (const p of paths) {
    const s = lstatSync(p)
    assert.equal(s.gid, gid, `${p} belongs to the store's group`)
    if (s.isDirectory()) {
      assert.equal(s.mode & 0o2070, 0o2070, `${p}: setgid and group rwx (mode ${(s.mode & 0o7777).toString(8)})`)
    } else {
      assert.equal(s.mode & 0o040, 0o040, `${p} is readable by the group`)
      if (p.includes("/artifacts/")) assert.equal(s.mode & 0o222, 0, `${p} is read-only`)
      else assert.equal(s.mode & 0o020, 0o020, `${p} is writable by the group (mode ${(s.mode & 0o7777).toString(8)})`)
    }
  }
  return paths
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
