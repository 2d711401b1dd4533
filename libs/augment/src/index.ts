export * from "./rng.ts"
