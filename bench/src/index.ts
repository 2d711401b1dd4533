import type { Bench } from "./contract.ts"

export type { Bench, BenchOptions, BenchRecord } from "./contract.ts"

/**
 * The benches `tomoprior bench <name>` runs. Each loads on demand: they pull in the training stack,
 * which `tomoprior bench runner` does not need.
 */
export const benches: Readonly<Record<string, () => Promise<Bench>>> = {
  compute: () => import("./compute.ts").then((m) => m.default),
  ingest: () => import("./ingest.ts").then((m) => m.default),
  pretrain: () => import("./pretrain.ts").then((m) => m.default),
  runner: () => import("./runner.ts").then((m) => m.default)
}
