import { Schema } from "effect"
import { readFile, rename, writeFile } from "node:fs/promises"
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

/** Writes JSON to a temp file and renames it over the target, so readers never see half a file. */
export const writeJsonAtomic = async (file: string, value: unknown, pretty = false): Promise<void> => {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`
  await writeFile(tmp, JSON.stringify(value, null, pretty ? 2 : undefined) + (pretty ? "\n" : ""))
  await rename(tmp, file)
}
