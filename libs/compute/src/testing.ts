/** An untrained encoder written as an Encoder artifact, for tests of the stages that read one. */
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import type { EncoderIndex } from "@tomoprior/core"
import { artifactFromDir, tempDir } from "@tomoprior/testkit"
import { initBackend } from "./backend/init.ts"
import { saveCheckpoint } from "./checkpoint/checkpoint.ts"
import { buildProjectionModel, buildScoreModel } from "./models/heads.ts"
import { defaultEncoderSpec } from "./models/zoo.ts"

/**
 * An untrained encoder for `size`² slices (a score model, or for `simclr` a projection model),
 * saved on wasm as an Encoder artifact.
 */
export const untrainedEncoder = (method: string, size: number) =>
  Effect.gen(function* () {
    yield* initBackend({ backend: "wasm" }, { log: () => {} })
    const dir = tempDir("tomoprior-encoder-")
    const spec = { ...defaultEncoderSpec, width: 0.25, inputSize: size, seed: 3 }
    const model = method === "simclr" ? buildProjectionModel(spec, 8) : buildScoreModel(spec)
    yield* saveCheckpoint(model, join(dir, "model"), {
      architecture: "ref-resnet",
      width: 0.25,
      depth: 1,
      inputSize: size,
      method,
      backend: "test",
      steps: 0
    })
    model.dispose()
    const index: EncoderIndex = {
      kind: "Encoder",
      method,
      architecture: "ref-resnet",
      width: 0.25,
      inputSize: size,
      model: "model",
      steps: 0,
      history: [{ epoch: 0, step: 0, loss: 1, metrics: {} }],
      final: {},
      settings: {}
    }
    writeFileSync(join(dir, "index.json"), JSON.stringify(index))
    return artifactFromDir("Encoder", dir, method)
  })
