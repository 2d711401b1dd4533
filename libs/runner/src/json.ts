import { Schema } from "effect"
import { readFile, rename, rm, writeFile } from "node:fs/promises"
import { randomBytes } from "node:crypto"

/** Reads and decodes a JSON file; a missing, unparsable or ill-shaped file reads as `undefined`. */
export const readJsonFile = async <S extends Schema.Top & { readonly DecodingServices: never }>(
  file: string,
  schema: S
): Promise<S["Type"] | undefined> => {
  const text = await readFile(file, "utf8").catch(() => undefined)
  if (text === undefined) return undefined
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return undefined
  }
  const decoded = Schema.decodeUnknownOption(schema)(raw)
  return decoded._tag === "Some" ? decoded.value : undefined
}

/**
 * Writes text to a temp file and renames it over the target, so readers never see half a file; a
 * failed write (a full disk) removes the temp file and leaves the target as it was.
 */
export const writeTextAtomic = async (file: string, text: string): Promise<void> => {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`
  try {
    await writeFile(tmp, text)
    await rename(tmp, file)
  } catch (e) {
    await rm(tmp, { force: true })
    throw atPath(e, file)
  }
}

/** `writeTextAtomic` of a value as JSON. */
export const writeJsonAtomic = (file: string, value: unknown, pretty = false): Promise<void> =>
  writeTextAtomic(file, JSON.stringify(value, null, pretty ? 2 : undefined) + (pretty ? "\n" : ""))

/** A failed `write` names no file (unlike open or rename); give it the one that was being written. */
export const atPath = (e: unknown, file: string): unknown => {
  if (e instanceof Error && (e as NodeJS.ErrnoException).path === undefined) (e as NodeJS.ErrnoException).path = file
  return e
}
