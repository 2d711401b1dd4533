import { normalize } from "./stage.ts"

export { normalize, NormalizeParams } from "./stage.ts"
export { bilinear, linearTable, nearest, nearestTable, resampledAffine } from "./resample.ts"
export const stages = [normalize]
