import { embedStage } from "./stage.ts"

export * from "./embeddings.ts"
export { embedStage }
export { EmbedParams } from "./params.ts"
export const stages = [embedStage]
