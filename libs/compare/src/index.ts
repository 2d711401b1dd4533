export * from "./headlines.ts"
export * from "./render.ts"
export * from "./runs.ts"
export * from "./table.ts"
