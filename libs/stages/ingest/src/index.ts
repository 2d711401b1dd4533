import { ingestStage } from "./stage.ts"

export { ingestStage } from "./stage.ts"
export { IngestParams, PHANTOM_SOURCE } from "./params.ts"
export { resolveInputs } from "./inputs.ts"
export { matchGlob } from "./glob.ts"
export const stages = [ingestStage]
