import { localizeStage } from "./stage.ts"

export * from "./analyze.ts"
export * from "./localize.ts"
export { localizeStage }
export { LocalizeParams } from "./params.ts"
export const stages = [localizeStage]
