import { tupleSample } from "./stage.ts"

export { tupleSample, TupleSampleParams } from "./stage.ts"
export { relativePositions, splitVolumes, sampleEpochs, axisIndex, type Axis, type SamplingMode } from "./sample.ts"
export const stages = [tupleSample]
