import { normalizeStage } from "./stage.ts"

export { normalizeStage } from "./stage.ts"
export { NormalizeParams } from "./params.ts"
export { bilinear, IDENTITY, linearTable, nearest, nearestTable, resampledAffine, type Intensity } from "./resample.ts"
export const stages = [normalizeStage]
