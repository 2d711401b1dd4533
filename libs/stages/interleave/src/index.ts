import { interleaveStage } from "./stage.ts"

export { interleaveStage } from "./stage.ts"
export { InterleaveParams } from "./params.ts"
export const stages = [interleaveStage]
