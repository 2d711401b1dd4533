// Worker threads do not inherit the parent's tsx loader hooks, so each worker registers tsx
// itself before importing the TypeScript worker module.
import { workerData } from "node:worker_threads"
import { register } from "tsx/esm/api"

register()
await import(workerData.entry)
