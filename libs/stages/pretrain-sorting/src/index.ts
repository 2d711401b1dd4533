import { pretrainSortingStage } from "./stage.ts"

export { pretrainSortingStage } from "./stage.ts"
export { PretrainSortingParams } from "./params.ts"
export const stages = [pretrainSortingStage]
