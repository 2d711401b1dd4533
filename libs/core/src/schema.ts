import { Effect, Schema } from "effect"

/**
 * A params field that takes `value` when the YAML leaves it out. The default is applied while
 * decoding, so `plan`, the cache key and `tomoprior stages` all see it, not just `run`.
 */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Type"]) =>
  schema.pipe(Schema.withDecodingDefaultTypeKey(Effect.succeed(value)))
