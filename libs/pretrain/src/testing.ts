import { Effect, Exit, Schema } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EncoderIndex, type Progress, type StageDef, type TupleSetIndex, type VolumeEntry } from "@tomoprior/core"
import { computeLayer } from "@tomoprior/compute/layer"
import { artifactFromDir, runStageForTest } from "@tomoprior/testkit"
import { phantomVolume, volumeEntry, writeVolume, writeVolumeSetIndex } from "@tomoprior/volume"
import { deriveSeed, makeRng } from "@tomoprior/augment"

export interface PhantomTupleSetOptions {
  readonly volumes: number
  readonly size: number
  readonly slices: number
  readonly groupSize: number
  readonly groupsPerEpoch: number
  readonly epochs: number
  readonly validation: number
  readonly seed: number
  /** Store the phantoms' label maps too (the probes read them). */
  readonly labels?: boolean
}

/**
 * A TupleSet directory over phantom volumes (HU window [−1000, 400] → [0, 1], float32) with
 * `unique` groups, for tests and benchmarks of the pre-training stages — which may not depend on
 * the ingest, normalize or tuple-sample stages.
 */
export const phantomTupleSet = (o: PhantomTupleSetOptions): Promise<string> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "tomoprior-tuples-"))
      const entries: Array<VolumeEntry> = []
      for (let i = 0; i < o.volumes; i++) {
        const phantom = phantomVolume(deriveSeed(o.seed, i), { size: o.size, slices: o.slices })
        const hu = new Int16Array(o.size * o.size)
        const out = new Float32Array(o.size * o.size)
        const labels = new Uint8Array(o.size * o.size)
        const header = yield* writeVolume(
          join(dir, "volumes", `p${i}`),
          {
            dims: phantom.image.dims,
            spacing: phantom.image.spacing,
            dtype: "float32",
            affine: phantom.image.affine,
            axisCodes: phantom.image.axisCodes,
            source: phantom.image.file,
            labelDtype: o.labels ? "uint8" : null
          },
          (z) =>
            Effect.gen(function* () {
              yield* phantom.image.readSlice(z, hu)
              for (let k = 0; k < hu.length; k++) out[k] = Math.min(1, Math.max(0, (hu[k] + 1000) / 1400))
              if (!o.labels) return { voxels: out }
              yield* phantom.labels.readSlice(z, labels)
              return { voxels: out, labels }
            })
        )
        entries.push(volumeEntry(`p${i}`, `p${i}`, header))
      }
      yield* writeVolumeSetIndex(join(dir, "volumes"), entries, {})
      const ids = entries.map((e) => e.id)
      const validationVolumes = ids.slice(0, o.validation)
      const trainVolumes = ids.slice(o.validation)
      const rng = makeRng(o.seed)
      const group = () => ({
        volumes: [trainVolumes[rng.int(trainVolumes.length)]],
        slices: rng.shuffle(Array.from({ length: o.slices }, (_, k) => k)).slice(0, o.groupSize)
      })
      const index: TupleSetIndex = {
        kind: "TupleSet",
        axis: "z",
        mode: "unique",
        groupSize: o.groupSize,
        seed: o.seed,
        epochs: Array.from({ length: o.epochs }, () => Array.from({ length: o.groupsPerEpoch }, group)),
        trainVolumes,
        validationVolumes
      }
      writeFileSync(join(dir, "index.json"), JSON.stringify(index))
      return dir
    })
  )

/**
 * Runs a pre-training stage on wasm (one worker unless `threads` says otherwise) so a test can
 * watch every progress event and stop the run mid-way, as Ctrl-C would, then resume it from the
 * same work directory.
 */
export const runPretrainStage = async <P>(
  stage: StageDef<P, { readonly tuples: { readonly kind: "TupleSet" } }, { readonly encoder: "Encoder" }>,
  tuples: string,
  params: Record<string, unknown>,
  options: {
    readonly workDir?: string
    readonly stopAt?: number
    readonly onProgress?: (p: Progress) => void
    readonly threads?: number
  } = {}
) => {
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), `${stage.name}-work-`))
  const exit = await Effect.runPromiseExit(
    runStageForTest(stage, {
      params,
      inputs: { tuples: artifactFromDir("TupleSet", tuples) },
      workDir,
      compute: computeLayer({ backend: "wasm", threads: options.threads ?? 1 }, { log: () => {} }),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.stopAt === undefined ? {} : { stopAt: options.stopAt })
    })
  )
  const run = Exit.isSuccess(exit) ? exit.value : undefined
  const out = run?.outputs.encoder.dir ?? ""
  const index = () => Schema.decodeUnknownSync(Schema.fromJsonString(EncoderIndex))(readFileSync(join(out, "index.json"), "utf8"))
  return { exit, out, workDir, logs: run?.logs ?? [], provenance: run?.provenance ?? {}, index }
}
