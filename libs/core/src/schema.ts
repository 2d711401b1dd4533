import { Effect, Schema } from "effect"

/**
 * A params field that takes `value` when the YAML leaves it out. The default is applied while
 * decoding, so `plan`, the cache key and `tomoprior stages` all see it, not just `run`; it is also
 * annotated, so the generated parameter tables show it.
 */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Type"]) =>
  Schema.withDecodingDefaultTypeKey<S["Rebuild"]>(Effect.succeed(value))(schema.annotate({ default: value }))

/**
 * A check on a params struct: `a` and `b` may not both be given. The issue sits at `b`, so `plan`
 * points at the second of the two in the pipeline file; `why` says what to do.
 */
export const notBoth = <K extends string>(a: K, b: K, why: string) =>
  Schema.makeFilter(
    (params: { readonly [P in K]?: unknown }) =>
      params[a] !== undefined && params[b] !== undefined ? { path: [b], issue: `give \`${a}\` or \`${b}\`, not both: ${why}` } : undefined,
    { description: `\`${a}\` and \`${b}\` exclude each other` }
  )
