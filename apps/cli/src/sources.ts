import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { type ArtifactKind, InputError, type SliceReader } from "@tomoprior/core"
import { artifactDir, lockPathFor, readLock, storeLayout } from "@tomoprior/runner"
import { allocate, type SourceOptions, sliceLength, type VolumeSource } from "@tomoprior/volume"
import { type Io, UsageError } from "./command.ts"

/** The flags that pick what to read from a multi-volume file (as volume-info takes them). */
export const SOURCE_FLAGS = {
  series: { type: "string" },
  dataset: { type: "string" },
  level: { type: "string" }
} as const

export const sourceOptions = (values: { readonly series?: string; readonly dataset?: string; readonly level?: string }): SourceOptions => {
  const level = values.level === undefined ? undefined : Number(values.level)
  if (level !== undefined && !(Number.isInteger(level) && level >= 0))
    throw new UsageError({ message: `--level ${values.level}: expected a whole number ≥ 0` })
  return {
    ...(values.series ? { series: values.series } : {}),
    ...(values.dataset ? { dataset: values.dataset } : {}),
    ...(level !== undefined ? { level } : {})
  }
}

/** `--window LO,HI`, or undefined when absent. */
export const parseWindow = (flag: string | undefined): readonly [number, number] | undefined => {
  if (flag === undefined) return undefined
  const w = flag.split(",").map(Number)
  if (w.length !== 2 || !w.every(Number.isFinite) || w[0] >= w[1])
    throw new UsageError({ message: `--window ${flag}: expected LO,HI with LO < HI` })
  return [w[0], w[1]]
}

/** The output port a stage records an artifact of each kind under (else its only output). */
const PORT: Partial<Record<ArtifactKind, string>> = { Encoder: "encoder", Segmenter: "segmenter" }

/**
 * An artifact directory of one of `kinds` from a path, or from PIPELINE.yaml:STAGE through the
 * pipeline's lock file (its last recorded run), with the kind its index declares.
 */
export const modelArtifact = <K extends ArtifactKind>(
  spec: string,
  kinds: ReadonlyArray<K>,
  io: Io,
  store: string
): Effect.Effect<{ readonly dir: string; readonly kind: K }, InputError> =>
  Effect.gen(function* () {
    const named = kinds.join(" or ")
    const at = resolve(io.cwd, spec)
    const m = /^(.*\.ya?ml):([\w-]+)$/i.exec(spec)
    let dir = at
    if (!existsSync(at)) {
      if (!m) return yield* new InputError({ file: at, problem: `no such ${named} artifact directory (or give PIPELINE.yaml:STAGE)` })
      const lockFile = lockPathFor(resolve(io.cwd, m[1]))
      const outputs = (yield* Effect.promise(() => readLock(lockFile)))?.stages[m[2]]?.outputs
      const ports = Object.entries(outputs ?? {})
      const hash = kinds.map((k) => outputs?.[PORT[k] ?? ""]).find((h) => h) ?? (ports.length === 1 ? ports[0][1] : undefined)
      if (!hash)
        return yield* new InputError({
          file: lockFile,
          problem: `no recorded ${named} output of stage ${m[2]}; run the pipeline first (tomoprior run ${m[1]})`
        })
      dir = artifactDir(storeLayout(store), hash)
    }
    const file = join(dir, "index.json")
    const kind = yield* Effect.try({
      try: () => (JSON.parse(readFileSync(file, "utf8")) as { kind?: unknown }).kind,
      catch: () => new InputError({ file, problem: `not an artifact directory: no readable index.json (expected an ${named} artifact)` })
    })
    if (!(kinds as ReadonlyArray<unknown>).includes(kind))
      return yield* new InputError({ file, problem: `a ${String(kind)} artifact, expected an ${named} artifact` })
    return { dir, kind: kind as K }
  })

/**
 * The 1st and 99.5th percentiles of a volume's values, from a strided sample of at most ~2 M voxels
 * read slice by slice: exact enough for a window, bounded in memory.
 */
export const percentileWindow = (source: VolumeSource) =>
  Effect.gen(function* () {
    const n = sliceLength(source.dims)
    const stride = Math.max(1, Math.floor((n * source.dims[0]) / 2_000_000))
    const slice = allocate(source.dtype, n)
    const sample: Array<number> = []
    for (let z = 0, i = 0; z < source.dims[0]; z++, i -= n) {
      yield* source.readSlice(z, slice)
      for (; i < n; i += stride) sample.push(Number(slice[i]))
    }
    sample.sort((a, b) => a - b)
    return [sample[Math.floor(0.01 * (sample.length - 1))], sample[Math.floor(0.995 * (sample.length - 1))]] as const
  })

/** A source's slices as float32 mapped through `[lo, hi]` to [0, 1] (clipped), as normalize's window does. */
export const windowedSlices = (source: VolumeSource, [lo, hi]: readonly [number, number]): SliceReader<InputError, never> => {
  const raw = allocate(source.dtype, sliceLength(source.dims))
  const span = hi > lo ? hi - lo : 1
  return {
    dims: source.dims,
    slice: (z) =>
      Effect.map(source.readSlice(z, raw), (values) =>
        Float32Array.from(values as ArrayLike<number>, (v) => Math.min(1, Math.max(0, (v - lo) / span)))
      )
  }
}

/** A source's slice spacing when its header has one (a format without orientation has placeholders). */
export const sliceSpacing = (source: VolumeSource): number | undefined => (source.axisCodes.includes("?") ? undefined : source.spacing[0])
