import { parentPort, workerData } from "node:worker_threads"
import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import type { BackendInfo, MemoryReport } from "@tomoprior/core"
import { initBackendAsync } from "../backend/init.ts"
import { nativeKernelCounts } from "../native/registry.ts"
import { saveCheckpoint } from "../checkpoint/checkpoint.ts"
import {
  barrier,
  type InitReply,
  type Request,
  type SharedBuffers,
  type StepReply,
  type StepRequest,
  type WorkerSetup
} from "./protocol.ts"
import { checksum, Replica, sumSlots, type OutputExchange } from "./replica.ts"
import type { TaskFactory } from "./task.ts"

const setup = (workerData as { setup: WorkerSetup }).setup
const port = parentPort!

interface Attached {
  /** Workers taking part in each step (barrier parties). */
  readonly threads: number
  readonly control: Int32Array
  readonly slots: ReadonlyArray<Float32Array>
  readonly outputs: Float32Array
  readonly total: Float32Array
}

let replica: Replica | undefined
let backend: BackendInfo | undefined
let shared: Attached | undefined
let peakBytes = 0

const ready = (): { replica: Replica; shared: Attached } => {
  if (replica === undefined || shared === undefined) throw new Error("worker used before init and attach")
  return { replica, shared }
}

const init = async (): Promise<InitReply> => {
  backend = await initBackendAsync(
    { backend: setup.backend, threads: setup.kernelThreads },
    { log: setup.rank === 0 ? undefined : () => {} }
  )
  const module = (await import(setup.taskModule)) as { default?: TaskFactory }
  if (typeof module.default !== "function")
    throw new Error(`task module ${setup.taskModule} has no default export (a defineTask(...) factory)`)
  const task = await module.default(setup.taskConfig, { seed: setup.seed, backend })
  replica = new Replica(task, setup.optimizer)
  return { slotSize: replica.slotSize, paramCount: replica.paramCount, backend }
}

const attach = (buffers: SharedBuffers, threads: number): void => {
  const { slotSize } = replica!
  shared = {
    threads,
    control: new Int32Array(buffers.control),
    slots: Array.from({ length: threads }, (_, r) => new Float32Array(buffers.slots, r * slotSize * 4, slotSize)),
    outputs: new Float32Array(buffers.outputs),
    total: new Float32Array(slotSize)
  }
}

const step = async (request: StepRequest): Promise<StepReply> => {
  const { replica, shared } = ready()
  const exchange: OutputExchange = (own, perPartition) => {
    if (perPartition * setup.partitions > shared.outputs.length) {
      throw new Error(
        `head outputs of ${perPartition * setup.partitions} floats exceed the exchange buffer (${shared.outputs.length}); raise exchangeFloats`
      )
    }
    for (const [p, data] of own) shared.outputs.set(data, p * perPartition)
    barrier(shared.control, shared.threads)
    return (p) => shared.outputs.slice(p * perPartition, (p + 1) * perPartition)
  }
  const targets = request.targets === undefined ? undefined : tf.tensor(request.targets.data, [...request.targets.shape])
  const context = { meta: request.meta, targets, step: replica.step }
  replica.task.beforeStep?.(replica.step)
  const mine = shared.slots[setup.rank]
  const run = () => replica.gradients(request.own, setup.partitions, context, mine, exchange)
  if (setup.profileMemory) peakBytes = Math.max(peakBytes, (await tf.profile(run)).peakBytes)
  else run()
  targets?.dispose()
  barrier(shared.control, shared.threads)
  sumSlots(shared.slots, shared.total)
  // Nobody may write a slot for the next step before everybody has summed this one.
  barrier(shared.control, shared.threads)
  replica.apply(shared.total, request.lr)
  return { loss: mine[replica.slotSize - 1], step: replica.step, checksum: checksum(replica.weights) }
}

const memory = (): MemoryReport => {
  const wasm = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } }).wasm
  const m = tf.memory()
  return { rank: setup.rank, tensors: m.numTensors, tfjsBytes: m.numBytes, peakBytes, wasmHeapBytes: wasm?.HEAPU8?.byteLength ?? 0 }
}

const handle = async (request: Request): Promise<unknown> => {
  switch (request.type) {
    case "init":
      return init()
    case "attach":
      return attach(request.buffers, request.threads)
    case "step":
      return step(request.step)
    case "evaluate":
      return ready().replica.evaluate(request.input, request.batchSize)
    case "getState":
      return ready().replica.getState()
    case "setState":
      return ready().replica.setState(request.state)
    case "save":
      return Effect.runPromise(saveCheckpoint(ready().replica.task.model, request.dir, request.metadata))
    case "memory":
      return memory()
    case "kernelCounts":
      return nativeKernelCounts()
  }
}

port.on("message", (message: { id: number; request: Request }) => {
  handle(message.request).then(
    (value) => port.postMessage({ id: message.id, ok: true, value }),
    (e: unknown) => port.postMessage({ id: message.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) })
  )
})
