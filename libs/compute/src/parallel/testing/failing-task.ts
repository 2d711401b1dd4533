import rankingTask from "../tasks/ranking.ts"
import { defineTask } from "../task.ts"

/** What partition 0's forward pass does instead of its work, chosen by the batch meta. */
interface Misbehavior {
  /** Throw. */
  readonly fail?: boolean
  /** Block this thread for good (as a worker stuck in native code or at a barrier would). */
  readonly hang?: boolean
  /** End this thread right after the step has been answered. */
  readonly exitAfterReply?: boolean
}

/** The ranking task, except that partition 0's forward pass misbehaves when the batch meta says so. */
export default defineTask(async (config, context) => {
  const task = await rankingTask(config, context)
  return {
    ...task,
    forward: (inputs, partition, step) => {
      const m = step.meta as Misbehavior
      if (partition.index === 0) {
        if (m.fail === true) throw new Error("forward failed on purpose")
        if (m.hang === true) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
        if (m.exitAfterReply === true) setTimeout(() => process.exit(3), 0)
      }
      return task.forward(inputs, partition, step)
    }
  }
})
