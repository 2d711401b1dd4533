import { ingest } from "./stage.ts"

export { ingest, IngestParams, PHANTOM_SOURCE, resolveInputs } from "./stage.ts"
export { matchGlob } from "./glob.ts"
export const stages = [ingest]
