import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { INDEX_FILE } from "./artifacts.ts"
import { InputError } from "./errors.ts"

/**
 * Reads an artifact directory's index.json and decodes it with the kind's schema. Every stage
 * reads its inputs this way, so a missing, truncated or foreign index fails the same way
 * everywhere: an InputError naming the file and what is wrong with it.
 */
export const readArtifactIndex = <S extends Schema.Codec<any, any, never, never>>(
  dir: string,
  kind: string,
  schema: S
): Effect.Effect<S["Type"], InputError> => {
  const file = join(dir, INDEX_FILE)
  return Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (e) => new InputError({ file, problem: `cannot read the ${kind} index: ${e instanceof Error ? e.message : String(e)}` })
  }).pipe(
    Effect.flatMap((text) =>
      Schema.decodeUnknownEffect(Schema.fromJsonString(schema))(text).pipe(
        Effect.mapError((e) => new InputError({ file, problem: `not a valid ${kind} index: ${e.message}` }))
      )
    )
  )
}
