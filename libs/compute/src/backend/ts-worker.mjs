// Entry of every worker thread that runs TypeScript: Node does not pass the parent's tsx loader
// to workers, so register it here and then import the real entry (workerData.tsEntry).
import { register } from "tsx/esm/api"
import { workerData } from "node:worker_threads"

register()
await import(workerData.tsEntry)
