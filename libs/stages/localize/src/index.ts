import { localizeStage } from "./stage.ts"

export * from "./analyze.ts"
export * from "./localize.ts"
export * from "./locate.ts"
export { localizeStage }
export { LocalizeParams } from "./params.ts"
export const stages = [localizeStage]
