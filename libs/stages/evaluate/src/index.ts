import { evaluateStage } from "./stage.ts"

export * from "./evaluate.ts"
export * from "./metrics.ts"
export * from "./overlay.ts"
export * from "./summary.ts"
export { evaluateStage }
export { EvaluateParams } from "./params.ts"
export const stages = [evaluateStage]
