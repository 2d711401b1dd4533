import { Effect, Schema } from "effect"
import { existsSync, readdirSync, statSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { defineStage, InputError, type VolumeEntry, withDefault } from "@tomoprior/core"
import {
  openSource,
  PHANTOM_LABELS,
  phantomVolume,
  phantomVolumeSeed,
  storeVolume,
  volumeEntry,
  type VolumeSource
} from "@tomoprior/volume"
import { isGlob, matchGlob } from "./glob.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Positive = Schema.Number.check(Schema.isGreaterThan(0))

export const PHANTOM_SOURCE = "phantom:torso"

export const IngestParams = Schema.Struct({
  /** "phantom:torso", a glob of .nii/.nii.gz/.tif/.tiff files (or slice directories), or one path; relative to the pipeline file. */
  source: withDefault(Schema.String, PHANTOM_SOURCE),
  /** Label maps: a rule with `{name}` (the image's name without extension, looked up next to the image) or a glob paired with the images in sorted order. */
  labels: Schema.optionalKey(Schema.String),
  /** Names of label ids; defaults to the phantom's names, or `label <id>` for files. */
  labelNames: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  /** [z, y, x] spacing in mm for TIFF input (TIFF carries none). */
  spacing: Schema.optionalKey(Schema.Tuple([Positive, Positive, Positive])),
  // phantom options
  volumes: withDefault(PositiveInt, 12),
  size: withDefault(PositiveInt.check(Schema.isGreaterThanOrEqualTo(8)), 96),
  slices: withDefault(PositiveInt.check(Schema.isGreaterThanOrEqualTo(2)), 64),
  seed: withDefault(Schema.Int, 0)
})
export type IngestParams = typeof IngestParams.Type

const VOLUME_FILE = /\.(nii|nii\.gz|tif|tiff)$/i
const nameOf = (path: string) => basename(path).replace(/\.(nii\.gz|nii|tiff?)$/i, "")
const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false

interface Pairing {
  readonly image: string
  readonly labels?: string
}

/** Which image files (and label files) a params block refers to; fails on an empty match. */
export const resolveInputs = (params: IngestParams, baseDir: string): Effect.Effect<ReadonlyArray<Pairing>, InputError> =>
  Effect.gen(function* () {
    const matched = matchGlob(params.source, baseDir).filter((p) => isDir(p) || VOLUME_FILE.test(p))
    const where = resolve(baseDir, params.source)
    if (matched.length === 0 || (!isGlob(params.source) && !existsSync(matched[0])))
      return yield* new InputError({
        file: where,
        problem: isGlob(params.source) ? "the glob matches no .nii/.nii.gz/.tif/.tiff files or directories" : "no such file or directory"
      })
    // an empty string (e.g. an unset `${params.labels}`) means no labels
    const rule = params.labels || undefined
    if (rule === undefined) return matched.map((image) => ({ image }))
    if (rule.includes("{name}")) {
      const labelOf = (image: string) => resolve(dirname(image), rule.replaceAll("{name}", nameOf(image)))
      const labelFiles = new Set(matched.map(labelOf))
      const images = matched.filter((m) => !labelFiles.has(m))
      if (images.length === 0) return yield* new InputError({ file: where, problem: "every matched file is itself a label map" })
      for (const image of images)
        if (!existsSync(labelOf(image)))
          return yield* new InputError({ file: labelOf(image), problem: `label map for ${basename(image)} not found (rule ${rule})` })
      return images.map((image) => ({ image, labels: labelOf(image) }))
    }
    const labelFiles = matchGlob(rule, baseDir).filter((p) => isDir(p) || VOLUME_FILE.test(p))
    const images = matched.filter((m) => !labelFiles.includes(m))
    if (labelFiles.length !== images.length)
      return yield* new InputError({
        file: resolve(baseDir, rule),
        problem: `${labelFiles.length} label maps for ${images.length} images; they are paired in sorted order, so the counts must match`
      })
    return images.map((image, i) => ({ image, labels: labelFiles[i] }))
  })

const filesUnder = (path: string): ReadonlyArray<string> =>
  isDir(path)
    ? readdirSync(path)
        .filter((n) => VOLUME_FILE.test(n))
        .map((n) => join(path, n))
    : [path]

const uniqueIds = (names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const seen = new Map<string, number>()
  return names.map((n) => {
    const k = seen.get(n) ?? 0
    seen.set(n, k + 1)
    return k === 0 ? n : `${n}-${k + 1}`
  })
}

export const ingest = defineStage({
  name: "ingest",
  version: "1",
  description: "Reads NIfTI / TIFF volumes (or generates phantom:torso) into a VolumeSet, canonical RAS+, slice-addressable",
  inputs: {},
  outputs: { volumes: "VolumeSet" },
  params: IngestParams,
  resources: { cpu: 1 },
  source: import.meta.url,
  externalFiles: (params, pipelineDir) => {
    if (params.source === PHANTOM_SOURCE) return Effect.succeed([])
    return Effect.map(resolveInputs(params, pipelineDir), (pairs) =>
      pairs.flatMap((p) => [...filesUnder(p.image), ...(p.labels ? filesUnder(p.labels) : [])])
    )
  },
  run: (ctx) =>
    Effect.gen(function* () {
      const params = ctx.params
      const out = ctx.outputs.volumes
      const entries: Array<VolumeEntry> = []
      const labelIds = new Set<number>()
      if (params.source === PHANTOM_SOURCE) {
        const total = params.volumes * params.slices
        for (let i = 0; i < params.volumes; i++) {
          const seed = phantomVolumeSeed(params.seed, i)
          const id = `torso-${String(i).padStart(3, "0")}`
          const p = phantomVolume(seed, { size: params.size, slices: params.slices })
          const header = yield* storeVolume(join(out, "volumes", id), p.image, p.labels, {
            source: `${PHANTOM_SOURCE}#${seed}`,
            onSlice: (z) =>
              z % 16 === 15 || z === params.slices - 1
                ? ctx.progress({ done: i * params.slices + z + 1, total, unit: "slices", message: id })
                : Effect.void
          })
          entries.push(volumeEntry(id, `volumes/${id}`, header))
        }
        yield* ctx.provenance({
          source: PHANTOM_SOURCE,
          seed: params.seed,
          volumes: params.volumes,
          size: params.size,
          slices: params.slices
        })
        yield* ctx.writeIndex("volumes", { kind: "VolumeSet", volumes: entries, labelNames: params.labelNames ?? PHANTOM_LABELS })
        return
      }
      const baseDir = ctx.pipelineDir ?? process.cwd()
      const pairs = yield* resolveInputs(params, baseDir)
      const ids = uniqueIds(pairs.map((p) => nameOf(p.image)))
      const tiff = params.spacing ? { spacing: params.spacing } : {}
      for (const [i, pair] of pairs.entries()) {
        const header = yield* Effect.scoped(
          Effect.gen(function* () {
            const image = yield* openSource(pair.image, tiff)
            const labels: VolumeSource | undefined = pair.labels ? yield* openSource(pair.labels, tiff) : undefined
            yield* ctx.log(
              `${ids[i]}: ${image.native.dims.join("×")} ${image.native.voxelType}, axes ` +
                `${image.native.axisCodes.join("")} → stored [z,y,x] ${image.dims.join("×")} ${image.dtype}`
            )
            return yield* storeVolume(join(out, "volumes", ids[i]), image, labels, {
              source: pair.image,
              onSlice: (z) =>
                z % 16 === 15 || z === image.dims[0] - 1
                  ? ctx.progress({ done: i, total: pairs.length, unit: "volumes", message: `${ids[i]} slice ${z + 1}/${image.dims[0]}` })
                  : Effect.void
            })
          })
        )
        header.labelIds.forEach((l) => labelIds.add(l))
        entries.push(volumeEntry(ids[i], `volumes/${ids[i]}`, header))
      }
      yield* ctx.progress({ done: pairs.length, total: pairs.length, unit: "volumes" })
      const names =
        params.labelNames ??
        Object.fromEntries([...labelIds].sort((a, b) => a - b).map((l) => [String(l), l === 0 ? "background" : `label ${l}`]))
      yield* ctx.provenance({ source: params.source, labels: params.labels ?? null, files: pairs.length })
      yield* ctx.writeIndex("volumes", { kind: "VolumeSet", volumes: entries, labelNames: names })
    })
})
