export * from "./selection.ts"
