export * from "./metrics.ts"
export * from "./summary.ts"
