import { pretrainSimclrStage } from "./stage.ts"

export { pretrainSimclrStage } from "./stage.ts"
export { PretrainSimclrParams } from "./params.ts"
export const stages = [pretrainSimclrStage]
