export * from "./artifacts.ts"
export * from "./canonical.ts"
export * from "./errors.ts"
export * from "./stage.ts"
