import { reportStage } from "./stage.ts"

export { buildReport, type ReportData } from "./build.ts"
export { reportStage }
export { ReportParams } from "./params.ts"
export const stages = [reportStage]
