// Worker side of parallelMatmulGflops: initialize wasm, report ready, measure on "go".
import { parentPort, workerData } from "node:worker_threads"
import { initBackendAsync } from "../backend/init.ts"
import { matmulGflops } from "./measure.ts"

const port = parentPort
if (port === null) throw new Error("matmul-worker.ts runs only as a worker thread")
const { n, reps } = workerData as { n: number; reps: number }
await initBackendAsync({ backend: "wasm" }, { log: () => {} })
matmulGflops(Math.min(n, 256), 1)
port.once("message", () => port.postMessage(matmulGflops(n, reps)))
port.postMessage("ready")
