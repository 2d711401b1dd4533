import { readFile, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { NamedArray, TrainerState } from "./trainer-state.ts"

/**
 * One file per checkpoint: a 4-byte header length, a JSON header (loop state, array names and
 * shapes) and the float32 data. Written to a temp file and renamed, so a kill mid-write leaves the
 * previous checkpoint intact.
 */
export const CHECKPOINT_FILE = "pretrain-checkpoint.bin"

interface Header<L> {
  readonly loop: L
  readonly weights: ReadonlyArray<{ name: string; shape: ReadonlyArray<number> }>
  readonly optimizer: ReadonlyArray<{ name: string; shape: ReadonlyArray<number> }>
}

const floatsOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)

export const writeCheckpoint = async <L>(dir: string, loop: L, state: TrainerState): Promise<void> => {
  const describe = (xs: ReadonlyArray<NamedArray>) => xs.map(({ name, shape }) => ({ name, shape }))
  const header: Header<L> = { loop, weights: describe(state.weights), optimizer: describe(state.optimizer) }
  const json = Buffer.from(JSON.stringify(header))
  const arrays = [...state.weights, ...state.optimizer]
  const data = Buffer.concat(arrays.map((a) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)))
  const length = Buffer.alloc(4)
  length.writeUInt32LE(json.length)
  const file = join(dir, CHECKPOINT_FILE)
  await writeFile(`${file}.tmp`, Buffer.concat([length, json, data]))
  await rename(`${file}.tmp`, file)
}

/** The last checkpoint in `dir`, or undefined when there is none. */
export const readCheckpoint = async <L>(dir: string): Promise<{ loop: L; state: TrainerState } | undefined> => {
  const bytes = await readFile(join(dir, CHECKPOINT_FILE)).catch(() => undefined)
  if (bytes === undefined) return undefined
  const jsonLength = bytes.readUInt32LE(0)
  const header = JSON.parse(bytes.subarray(4, 4 + jsonLength).toString("utf8")) as Header<L>
  let offset = 4 + jsonLength
  const take = (xs: Header<L>["weights"]): Array<NamedArray> =>
    xs.map(({ name, shape }) => {
      const n = floatsOf(shape)
      // Copy out: the header length makes `offset` unaligned for a Float32Array view.
      const data = new Float32Array(n)
      Buffer.from(data.buffer).set(bytes.subarray(offset, offset + 4 * n))
      offset += 4 * n
      return { name, shape, data }
    })
  const weights = take(header.weights)
  const optimizer = take(header.optimizer)
  return { loop: header.loop, state: { weights, optimizer } }
}
