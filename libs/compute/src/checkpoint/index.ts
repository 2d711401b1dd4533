export {
  CheckpointMetadata,
  directoryHandler,
  loadCheckpoint,
  modelFile,
  readCheckpointMetadata,
  saveCheckpoint,
  weightsFile
} from "./checkpoint.ts"
export { CheckpointError, WeightTransferMismatch, type ShapeMismatch } from "./errors.ts"
export { transferWeights } from "./transfer.ts"
