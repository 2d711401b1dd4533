import { Effect, Schema } from "effect"
import { ArtifactIndexes, type ArtifactKind, type ArtifactRef, INDEX_FILE, type IndexOf } from "./artifacts.ts"
import { InputError, OutputError, systemReason } from "./errors.ts"
import type { InputPorts, OutputPorts, StageContext, StageDef } from "./stage.ts"

/**
 * The file access a stage context is built on. Core describes what is read and written and how it
 * is checked; whoever runs the stage (the runner's executor, a test) supplies node's file system.
 */
export interface StageFiles {
  readonly read: (file: string) => Promise<Uint8Array>
  /** Writes the whole file, creating its directory. */
  readonly write: (file: string, data: string | Uint8Array) => Promise<void>
}

/** Everything of a context that is not file access: where the stage runs and where its reports go. */
export type StageContextParts<P, I extends InputPorts, O extends OutputPorts> = Omit<
  StageContext<P, I, O>,
  "readIndex" | "writeIndex" | "readFile" | "writeFile"
>

const within = (dir: string, path: string): string => `${dir.replace(/\/+$/, "")}/${path}`

const decoders = new Map<ArtifactKind, (text: string) => Effect.Effect<unknown, Schema.SchemaError>>()

/**
 * The text of an artifact's `index.json` (read from `file`) decoded with its kind's schema; a
 * truncated or foreign index is an InputError naming the file.
 */
export const decodeArtifactIndex = <K extends ArtifactKind>(kind: K, file: string, text: string): Effect.Effect<IndexOf<K>, InputError> => {
  let decode = decoders.get(kind)
  if (!decode) decoders.set(kind, (decode = Schema.decodeUnknownEffect(Schema.fromJsonString(ArtifactIndexes[kind]))))
  return decode(text).pipe(
    Effect.mapError((e) => new InputError({ file, problem: `not a valid ${kind} index: ${e.message}` }))
  ) as Effect.Effect<IndexOf<K>, InputError>
}

/**
 * The one way a stage context is made: the parts plus index and file access, so every stage reads
 * its inputs' `index.json` against the kind's schema and writes its outputs the same way, and every
 * failure names its file.
 */
export const makeStageContext = <P, I extends InputPorts, O extends OutputPorts>(
  stage: StageDef<P, I, O>,
  parts: StageContextParts<P, I, O>,
  files: StageFiles
): StageContext<P, I, O> => {
  const readFile = (input: ArtifactRef, path: string) => {
    const file = within(input.dir, path)
    return Effect.tryPromise({
      try: () => files.read(file),
      catch: (e) => new InputError({ file, problem: `cannot read it: ${systemReason(e).reason}` })
    })
  }
  const writeFile = (port: keyof O & string, path: string, data: string | Uint8Array) => {
    const file = within(parts.outputs[port], path)
    return Effect.tryPromise({ try: () => files.write(file, data), catch: (e) => new OutputError({ file, ...systemReason(e) }) })
  }
  return {
    ...parts,
    readFile,
    writeFile,
    readIndex: (input) => {
      const file = within(input.dir, INDEX_FILE)
      return Effect.tryPromise({
        try: () => files.read(file),
        catch: (e) => new InputError({ file, problem: `cannot read the ${input.kind} index: ${systemReason(e).reason}` })
      }).pipe(Effect.flatMap((bytes) => decodeArtifactIndex(input.kind, file, new TextDecoder().decode(bytes))))
    },
    writeIndex: (port, index) => {
      const kind = stage.outputs[port] as ArtifactKind
      return Schema.encodeUnknownEffect(ArtifactIndexes[kind])(index).pipe(
        // The stage built a value its own types accept but the kind's schema does not: a bug, not an input problem.
        Effect.catch((e) => Effect.die(new Error(`stage ${stage.name} wrote a ${kind} index its schema rejects: ${e.message}`))),
        Effect.flatMap((encoded) => writeFile(port, INDEX_FILE, JSON.stringify(encoded, null, 1)))
      )
    }
  }
}
