export {
  describeBackend,
  initBackend,
  initBackendAsync,
  type BackendInfo,
  type BackendName,
  type InitOptions,
  type ModuleLoader
} from "./backend/init.ts"
export { spawnTsWorker } from "./backend/workers.ts"
export * from "./kernels/index.ts"
export * from "./models/index.ts"
export * from "./checkpoint/index.ts"
export * from "./parallel/index.ts"
