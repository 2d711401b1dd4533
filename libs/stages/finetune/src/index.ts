import { finetuneStage } from "./stage.ts"

export { finetuneStage } from "./stage.ts"
export { FinetuneParams } from "./params.ts"
export { asSelections, EMPTY_SHARE, heldOutSplit, selectSlices, type TrainingSlice, type VolumeLabeling } from "./selection.ts"
export { batchSampler, stepBatch } from "./batches.ts"
export const stages = [finetuneStage]
