import { performance } from "node:perf_hooks"
import type { Worker } from "node:worker_threads"
import * as tf from "@tensorflow/tfjs-core"
import { spawnTsWorker } from "../backend/workers.ts"

/**
 * Median seconds of `run` over `reps` repetitions, each on fresh operands from `prepare` (untimed).
 * Fresh operands matter: XNNPACK caches packed filters/matmul operands by tensor id, and in training
 * they are new tensors every step, so reusing one reads 2–10× too fast.
 */
export const medianSeconds = <A, R>(reps: number, prepare: () => A, run: (a: A) => R, cleanup: (a: A, out: R) => void): number => {
  const times: Array<number> = []
  for (let i = 0; i < reps; i++) {
    const operands = prepare()
    const t0 = performance.now()
    const out = run(operands)
    times.push((performance.now() - t0) / 1000)
    cleanup(operands, out)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

/** GFLOP/s of an n×n·n×n matmul on the current backend, fresh operands each repetition. */
export const matmulGflops = (n: number, reps: number): number => {
  const seconds = medianSeconds(
    reps,
    () => [tf.randomUniform([n, n]), tf.randomUniform([n, n])] as const,
    ([a, b]) => tf.matMul(a, b),
    (operands, out) => tf.dispose([...operands, out])
  )
  return (2 * n ** 3) / seconds / 1e9
}

/**
 * The two-core ceiling: `workers` worker threads, each with its own wasm backend, run the matmul
 * benchmark at the same time; returns each worker's GFLOP/s (their sum is the ceiling).
 */
export const parallelMatmulGflops = async (workers: number, n: number, reps: number): Promise<Array<number>> => {
  const entry = new URL("./matmul-worker.ts", import.meta.url)
  const threads = Array.from({ length: workers }, () => spawnTsWorker(entry, { n, reps }))
  const message = (w: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      w.once("message", resolve)
      w.once("error", reject)
    })
  try {
    // All workers initialize first, so the timed matmuls overlap.
    await Promise.all(threads.map(message))
    const results = threads.map(message)
    for (const w of threads) w.postMessage("go")
    return (await Promise.all(results)) as Array<number>
  } finally {
    await Promise.all(threads.map((w) => w.terminate()))
  }
}
