import { Effect, Scope } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
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

/** Debian's python3 with nibabel (the pyenv python on PATH has no nibabel). */
export const PYTHON = "/usr/bin/python3"
export const hasNibabel = (): boolean =>
  existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import nibabel, numpy"], { stdio: "ignore" }).status === 0
export const hasTiffcp = (): boolean => spawnSync("tiffcp", [], { stdio: "ignore" }).error === undefined

/** A little-endian float64 dump (as numpy's tofile writes) as an array. */
export const readF64 = (file: string): Float64Array => {
  const b = readFileSync(file)
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

/** Whether Debian's python3 imports every module named (pydicom, h5py, zarr, …). */
export const hasPythonModules = (...modules: ReadonlyArray<string>): boolean =>
  existsSync(PYTHON) && spawnSync(PYTHON, ["-c", `import ${modules.join(", ")}`], { stdio: "ignore" }).status === 0
export const hasCommand = (command: string): boolean => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0

/** Runs a command and fails the test with its output when it does not exit 0. */
export const run = (command: string, args: ReadonlyArray<string>): void => {
  const r = spawnSync(command, args, { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout || r.error}`)
}

/** A fixture script beside this package (libs/volume/fixtures). */
export const fixture = (name: string): string => new URL(`../fixtures/${name}`, import.meta.url).pathname
