import { Effect, Schema } from "effect"

/**
 * A params field that takes `value` when the YAML leaves it out. The default is applied while
 * decoding, so `plan`, the cache key and `tomoprior stages` all see it, not just `run`; it is also
 * annotated, so the generated parameter tables show it.
 */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Type"]) =>
  Schema.withDecodingDefaultTypeKey<S["Rebuild"]>(Effect.succeed(value))(schema.annotate({ default: value }))
