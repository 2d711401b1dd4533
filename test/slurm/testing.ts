import { spawnSync } from "node:child_process"
import { join } from "node:path"

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
    end: Date.parse(field("EndTime")) / 1000
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
