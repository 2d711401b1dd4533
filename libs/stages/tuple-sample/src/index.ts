import { tupleSampleStage } from "./stage.ts"

export { tupleSampleStage } from "./stage.ts"
export { TupleSampleParams } from "./params.ts"
export { axisIndex, relativePositions, sampleEpochs, SamplingError, validationSplit, type Axis, type SamplingMode } from "./sample.ts"
export const stages = [tupleSampleStage]
