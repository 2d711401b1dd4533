export * from "./localise.ts"
