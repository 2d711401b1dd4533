import { normalize } from "./stage.ts"

export { normalize, NormalizeParams } from "./stage.ts"
export { bilinear, IDENTITY, linearTable, nearest, nearestTable, resampledAffine, type Intensity } from "./resample.ts"
export const stages = [normalize]
