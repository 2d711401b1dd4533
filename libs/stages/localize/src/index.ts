import { localizeStage } from "./stage.ts"

export * from "./analyze.ts"
export * from "./localize.ts"
export { localizeStage }
export const stages = [localizeStage]
