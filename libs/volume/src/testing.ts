import { Effect, Scope } from "effect"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { hasPythonModules } from "@tomoprior/testkit"
import type { InputError } from "@tomoprior/core"
import { allocate } from "./dtype.ts"
import { sliceLength, type VolumeSource } from "./source.ts"

/** Test-only helpers shared by this package's *.test.ts files. */

export const runScoped = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<A> => Effect.runPromise(Effect.scoped(effect))

/** The error an effect fails with (the test fails if it succeeds). */
export const failureOf = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<E> =>
  Effect.runPromise(
    Effect.scoped(effect).pipe(
      Effect.flatMap(() => Effect.die(new Error("expected a failure, got success"))),
      Effect.flip
    )
  ) as Promise<E>

/** Every slice of a source, concatenated as float64 (small volumes only). */
export const readAll = (source: VolumeSource): Effect.Effect<Float64Array, InputError> =>
  Effect.gen(function* () {
    const n = sliceLength(source.dims)
    const out = new Float64Array(n * source.dims[0])
    const slice = allocate(source.dtype, n)
    for (let z = 0; z < source.dims[0]; z++) out.set(yield* source.readSlice(z, slice), z * n)
    return out
  })

export { hasCommand, hasPythonModules, PYTHON, run } from "@tomoprior/testkit"
export const hasNibabel = (): boolean => hasPythonModules("nibabel", "numpy")
export const hasTiffcp = (): boolean => spawnSync("tiffcp", [], { stdio: "ignore" }).error === undefined

/** A little-endian float64 dump (as numpy's tofile writes) as an array. */
export const readF64 = (file: string): Float64Array => {
  const b = readFileSync(file)
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

/** A fixture script beside this package (libs/volume/fixtures). */
export const fixture = (name: string): string => new URL(`../fixtures/${name}`, import.meta.url).pathname
