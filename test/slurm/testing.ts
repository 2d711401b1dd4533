import assert from "node:assert/strict"
import { type ChildProcess, spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { basename, join } from "node:path"
import { finished, jsonLines, verifyStore } from "../runner/testing.ts"

const CLUSTER = join(import.meta.dirname, "cluster.sh")

/**
 * Makes sure a Slurm cluster takes jobs, starting the one-node test cluster (test/slurm/cluster.sh)
 * when this process is root. Returns why the Slurm tests must skip, or undefined when they can run;
 * as root, a cluster that does not start is a failure, not a skip.
 */
export const slurmCluster = (): string | undefined => {
  if (spawnSync(CLUSTER, ["status"]).status === 0) return undefined
  if (process.getuid?.() !== 0)
    return "no Slurm cluster takes jobs here, and starting the test cluster needs root (sudo test/slurm/cluster.sh start)"
  const r = spawnSync(CLUSTER, ["start"], { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`the Slurm test cluster did not start:\n${r.stderr}`)
  return undefined
}

export interface SlurmJob {
  readonly id: string
  readonly name: string
  readonly state: string
  /** Seconds since the epoch, as Slurm recorded them. */
  readonly start: number
  readonly end: number
  /** How many times Slurm started it again (requeued). */
  readonly restarts: number
}

/** The controller's own record of a job (`scontrol show job`): the reference the tests check against. */
export const slurmJob = (id: string): SlurmJob => {
  const r = spawnSync("scontrol", ["-o", "show", "job", id], { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`scontrol show job ${id}: ${r.stderr}`)
  const field = (k: string) => new RegExp(`(?:^|\\s)${k}=(\\S+)`).exec(r.stdout)?.[1] ?? ""
  return {
    id,
    name: field("JobName"),
    state: field("JobState"),
    start: Date.parse(field("StartTime")) / 1000,
    end: Date.parse(field("EndTime")) / 1000,
    restarts: Number(field("Restarts"))
  }
}

/** The job ids a run's `--json` output announced, by stage ("slurm job 12; log: …"). */
export const jobIds = (events: ReadonlyArray<Record<string, any>>): Record<string, string> =>
  Object.fromEntries(
    events.flatMap((e) => {
      const id = e.type === "stage-log" ? /^slurm job (\d+); log: /.exec(e.message)?.[1] : undefined
      return id ? [[e.stage, id]] : []
    })
  )

/** Jobs of the cluster in a state, as `squeue` lists them: id → name. */
export const queued = (state: string): Map<string, string> => {
  const r = spawnSync("squeue", ["-h", "-t", state, "-o", "%i|%j"], { encoding: "utf8" })
  return new Map(
    r.stdout
      .split("\n")
      .filter((l) => l.includes("|"))
      .map((l) => l.split("|") as [string, string])
  )
}

/** The pids of a running job on its node (`scontrol listpids`), e.g. to kill one as a failing node would. */
export const jobPids = (id: string): Array<number> =>
  spawnSync("scontrol", ["listpids", id], { encoding: "utf8" })
    .stdout.split("\n")
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((p) => p > 0)

/** A running CLI child's `--json` events as they arrive. */
export const watch = (child: ChildProcess) => {
  let seen = ""
  const waiting = new Set<() => void>()
  child.stdout!.on("data", (d) => {
    seen += d
    for (const w of waiting) w()
  })
  const closed = finished(child)
  return {
    closed,
    events: () => jsonLines(seen),
    /** Resolves with the first event that `matches`. */
    until: (matches: (e: Record<string, any>) => boolean): Promise<Record<string, any>> =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = jsonLines(seen).find(matches)
          if (hit) {
            waiting.delete(check)
            resolve(hit)
          }
        }
        waiting.add(check)
        check()
        void closed.then(() => waiting.has(check) && reject(new Error(`the run ended before the event:\n${seen}`)))
      })
  }
}

export const progressed = (stage: string, done: number) => (e: Record<string, any>) =>
  e.type === "stage-progress" && e.stage === stage && e.done >= done

/** Output hashes by stage from a run's `--json` run-done event (artifact directories are named by hash). */
export const outputHashes = (stdout: string): Record<string, Record<string, string>> => {
  const done = jsonLines(stdout).find((e) => e.type === "run-done")!
  return Object.fromEntries(
    Object.entries(done.outputs as Record<string, Record<string, string>>).map(([stage, ports]) => [
      stage,
      Object.fromEntries(Object.entries(ports).map(([port, dir]) => [port, basename(dir)]))
    ])
  )
}

/** Where fake-steps resumed from, as its output manifest's provenance records it. */
export const resumedFrom = (stdout: string, stage: string): number => {
  const dir = outputHashes(stdout)[stage].encoder
  const store = jsonLines(stdout).find((e) => e.type === "run-start")!.store
  return JSON.parse(readFileSync(join(store, "artifacts", dir, "manifest.json"), "utf8")).provenance.extra.resumedFrom
}

/** The store keeps no temp outputs and no lease after a run, and every run record is true. */
export const assertConsistent = async (store: string) => {
  await verifyStore(store)
  assert.deepEqual(readdirSync(join(store, "tmp")), [], "no temp outputs left")
  assert.equal(existsSync(join(store, "locks", "run.lease")), false, "lease released")
}
