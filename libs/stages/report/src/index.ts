import { reportStage } from "./stage.ts"

export { buildReport, type ReportData } from "./build.ts"
export { reportStage }
export const stages = [reportStage]
