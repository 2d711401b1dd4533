import { finetuneStage } from "./stage.ts"

export * from "./selection.ts"
export { FinetuneParams, finetuneStage } from "./stage.ts"
export const stages = [finetuneStage]
