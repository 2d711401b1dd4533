import { localizeStage } from "./stage.ts"

export * from "./analyse.ts"
export * from "./localise.ts"
export { localizeStage }
export const stages = [localizeStage]
