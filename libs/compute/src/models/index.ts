export { BatchNorm, batchNormLayers, type BatchNormArgs, type BatchStats } from "./batch-norm.ts"
export {
  architectures,
  buildEncoder,
  buildEncoderGraph,
  defaultEncoderSpec,
  encoderPrefix,
  layerSeed,
  type Architecture,
  type EncoderGraph,
  type EncoderSpec
} from "./zoo.ts"
export {
  buildProjectionModel,
  buildScoreModel,
  buildUNet,
  scoreMapLayer,
  scoreMapModel,
  type UNetSpec,
  withPooledFeatures
} from "./heads.ts"
export { convFlops, type ConvFlops } from "./flops.ts"
