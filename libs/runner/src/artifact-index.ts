import { type ArtifactKind, decodeArtifactIndex, INDEX_FILE, type IndexOf, InputError, systemReason } from "@tomoprior/core"
import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import { join } from "node:path"

/**
 * A stored artifact's `index.json`, decoded with its kind's schema, for code outside a stage (stages
 * use `ctx.readIndex`, which fails the same way): an InputError names the file and the problem.
 */
export const readArtifactIndex = <K extends ArtifactKind>(dir: string, kind: K): Effect.Effect<IndexOf<K>, InputError> => {
  const file = join(dir, INDEX_FILE)
  return Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (e) => new InputError({ file, problem: `cannot read the ${kind} index: ${systemReason(e).reason}` })
  }).pipe(Effect.flatMap((text) => decodeArtifactIndex(kind, file, text)))
}
