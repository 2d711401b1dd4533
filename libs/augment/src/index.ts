export * from "./augment.ts"
export * from "./ops.ts"
export * from "./rng.ts"
