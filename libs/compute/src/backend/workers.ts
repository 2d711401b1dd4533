import { Worker } from "node:worker_threads"

const bootstrap = new URL("./ts-worker.mjs", import.meta.url)

/**
 * Starts a worker thread running the TypeScript module `entry` (a file URL); `data` is available
 * as `workerData` there (plus `tsEntry`).
 */
export const spawnTsWorker = (entry: URL, data: Readonly<Record<string, unknown>> = {}): Worker =>
  new Worker(bootstrap, { workerData: { ...data, tsEntry: entry.href } })
