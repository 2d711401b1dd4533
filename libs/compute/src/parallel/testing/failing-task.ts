import rankingTask from "../tasks/ranking.ts"
import { defineTask } from "../task.ts"

/** The ranking task, except that partition 0's forward pass throws when the batch meta says so. */
export default defineTask(async (config, context) => {
  const task = await rankingTask(config, context)
  return {
    ...task,
    forward: (inputs, partition, step) => {
      if (partition.index === 0 && (step.meta as { fail?: boolean }).fail === true) throw new Error("forward failed on purpose")
      return task.forward(inputs, partition, step)
    }
  }
})
