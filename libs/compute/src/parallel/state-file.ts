import { readFile, rename, writeFile } from "node:fs/promises"
import { Effect, Schema } from "effect"
import { TrainerError, type TrainerState } from "@tomoprior/core"

const Header = Schema.Struct({
  format: Schema.Literal("tomoprior-trainer-state-1"),
  step: Schema.Number,
  names: Schema.Array(Schema.String),
  shapes: Schema.Array(Schema.Array(Schema.Number)),
  bnNames: Schema.Array(Schema.String),
  /** Float counts of weights, m, v and batchNorm, stored in that order after the header. */
  lengths: Schema.Tuple([Schema.Number, Schema.Number, Schema.Number, Schema.Number])
})

/**
 * Writes a trainer state (weights, Adam moments, BN statistics, step) to one file, atomically
 * (temporary file + rename), so a run killed while writing keeps its previous state file.
 * Layout: uint32 header length, JSON header, then the float32 arrays.
 */
export const writeTrainerState = (path: string, state: TrainerState) =>
  Effect.tryPromise({
    try: async () => {
      const arrays = [state.weights, state.m, state.v, state.batchNorm]
      const header = new TextEncoder().encode(
        JSON.stringify({
          format: "tomoprior-trainer-state-1",
          step: state.step,
          names: state.names,
          shapes: state.shapes,
          bnNames: state.bnNames,
          lengths: arrays.map((a) => a.length)
        })
      )
      const floats = arrays.reduce((n, a) => n + a.length, 0)
      const offset = Math.ceil((4 + header.length) / 4) * 4
      const bytes = new Uint8Array(offset + floats * 4)
      new DataView(bytes.buffer).setUint32(0, header.length, true)
      bytes.set(header, 4)
      let at = offset / 4
      const body = new Float32Array(bytes.buffer)
      for (const a of arrays) {
        body.set(a, at)
        at += a.length
      }
      await writeFile(`${path}.tmp`, bytes)
      await rename(`${path}.tmp`, path)
    },
    catch: (e) => new TrainerError({ operation: "writeTrainerState", reason: `cannot write ${path}: ${String(e)}` })
  })

export const readTrainerState = (path: string) =>
  Effect.gen(function* () {
    const fail = (reason: string) => new TrainerError({ operation: "readTrainerState", reason: `${path}: ${reason}` })
    const file = yield* Effect.tryPromise({ try: () => readFile(path), catch: (e) => fail(`cannot read (${String(e)})`) })
    const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength).slice()
    if (bytes.length < 4) return yield* fail("too short to be a trainer state")
    const headerLength = new DataView(bytes.buffer).getUint32(0, true)
    const json = yield* Effect.try({
      try: () => JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as unknown,
      catch: () => fail("not a trainer state file (bad header)")
    })
    const header = yield* Schema.decodeUnknownEffect(Header)(json).pipe(
      Effect.mapError((e) => fail(`not a trainer state file: ${e.message}`))
    )
    const offset = Math.ceil((4 + headerLength) / 4) * 4
    const total = header.lengths.reduce((a, b) => a + b, 0)
    if (bytes.length !== offset + total * 4) return yield* fail(`truncated: ${bytes.length} bytes, expected ${offset + total * 4}`)
    const body = new Float32Array(bytes.buffer, offset, total)
    let at = 0
    const [weights, m, v, batchNorm] = header.lengths.map((n) => {
      const a = body.slice(at, at + n)
      at += n
      return a
    })
    const state: TrainerState = {
      step: header.step,
      names: header.names,
      shapes: header.shapes,
      bnNames: header.bnNames,
      weights,
      m,
      v,
      batchNorm
    }
    return state
  })
