export { directoryHandler, loadCheckpoint, modelFile, readCheckpointMetadata, saveCheckpoint, weightsFile } from "./checkpoint.ts"
export { WeightTransferMismatch, type ShapeMismatch } from "./errors.ts"
export { transferWeights } from "./transfer.ts"
