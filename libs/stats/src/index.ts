export * from "./bootstrap.ts"
