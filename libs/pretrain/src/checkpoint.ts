import { readFile, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"

/**
 * One file per checkpoint: a 4-byte header length, a JSON header (loop state, the trainer state's
 * plain fields, and the names and lengths of its Float32Array fields) and those arrays' bytes.
 * Written to a temp file and renamed, so a kill mid-write leaves the previous checkpoint intact.
 */
export const CHECKPOINT_FILE = "pretrain-checkpoint.bin"

type State = object

interface Header<L> {
  readonly loop: L
  readonly plain: Record<string, unknown>
  readonly arrays: ReadonlyArray<{ readonly key: string; readonly length: number }>
}

export const writeCheckpoint = async <L>(dir: string, loop: L, state: State): Promise<void> => {
  const plain: Record<string, unknown> = {}
  const arrays: Array<{ key: string; data: Float32Array }> = []
  for (const [key, value] of Object.entries(state as Record<string, unknown>)) {
    if (value instanceof Float32Array) arrays.push({ key, data: value })
    else plain[key] = value
  }
  const header: Header<L> = { loop, plain, arrays: arrays.map(({ key, data }) => ({ key, length: data.length })) }
  const json = Buffer.from(JSON.stringify(header))
  const length = Buffer.alloc(4)
  length.writeUInt32LE(json.length)
  const data = arrays.map(({ data }) => Buffer.from(data.buffer, data.byteOffset, data.byteLength))
  const file = join(dir, CHECKPOINT_FILE)
  await writeFile(`${file}.tmp`, Buffer.concat([length, json, ...data]))
  await rename(`${file}.tmp`, file)
}

/** The last checkpoint in `dir`, or undefined when there is none. */
export const readCheckpoint = async <L, S>(dir: string): Promise<{ loop: L; state: S } | undefined> => {
  const bytes = await readFile(join(dir, CHECKPOINT_FILE)).catch(() => undefined)
  if (bytes === undefined) return undefined
  const jsonLength = bytes.readUInt32LE(0)
  const header = JSON.parse(bytes.subarray(4, 4 + jsonLength).toString("utf8")) as Header<L>
  const state: Record<string, unknown> = { ...header.plain }
  let offset = 4 + jsonLength
  for (const { key, length } of header.arrays) {
    // Copy out: after the JSON header `offset` is not 4-byte aligned, so no Float32Array view.
    const data = new Float32Array(length)
    Buffer.from(data.buffer).set(bytes.subarray(offset, offset + 4 * length))
    offset += 4 * length
    state[key] = data
  }
  return { loop: header.loop, state: state as S }
}
