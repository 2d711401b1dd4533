import { Effect, Layer } from "effect"
import { renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { computeLayer } from "@tomoprior/compute/layer"
import { Compute, InputError } from "@tomoprior/core"
import { readArtifactIndex } from "@tomoprior/runner"
import { backendOverride, type Command, EXIT_OK, formatBytes, parseFlags, storeDir, UsageError } from "../command.ts"
import { runCommandEffect } from "../effect-exit.ts"
import { modelArtifact } from "../sources.ts"

const USAGE = `tomoprior export MODEL --onnx OUT.onnx [--json]

Writes a trained model as ONNX (opset 17), for onnxruntime, PyTorch (onnx2torch), OpenVINO,
TensorRT and anything else that reads ONNX, without tomoprior:
  input   "input"  float32 [N, 1, S, S], NCHW slices windowed to [0, 1] as the pipeline normalized
                   them, S the model's input size (resize slices to it)
  output  "output" an Encoder's head (score [N, 1] or SimCLR projection [N, d]);
                   a Segmenter's per-pixel class logits [N, classes, S, S] (argmax over axis 1)

MODEL       an Encoder or Segmenter artifact directory, or PIPELINE.yaml:STAGE (its last recorded run)
--onnx OUT  the file to write (written whole, or not at all)
--backend B compute backend that loads the checkpoint (default $TOMOPRIOR_BACKEND, else auto)
--store DIR the store PIPELINE.yaml ran in (default .tomoprior)
--json      print what was written as JSON`

export const exportCommand: Command = {
  name: "export",
  summary: "write an Encoder or Segmenter as an ONNX model, for use outside tomoprior",
  usage: USAGE,
  run: async (argv, io) => {
    const { values, positionals } = parseFlags(argv, {
      onnx: { type: "string" },
      backend: { type: "string" },
      store: { type: "string" },
      json: { type: "boolean" }
    })
    if (positionals.length !== 1)
      throw new UsageError({ message: "expected one MODEL (an Encoder or Segmenter artifact, or PIPELINE.yaml:STAGE)" })
    if (!values.onnx) throw new UsageError({ message: "--onnx OUT.onnx is required" })
    const backend = backendOverride(values.backend, io) ?? "auto"
    const out = resolve(io.cwd, values.onnx)
    const program = Effect.gen(function* () {
      const { dir, kind } = yield* modelArtifact(positionals[0], ["Encoder", "Segmenter"], io, storeDir(values.store, io))
      const index = yield* readArtifactIndex(dir, kind)
      const bytes = yield* (yield* Compute).onnx(join(dir, index.model), index.inputSize)
      const partial = join(dirname(out), `.${process.pid}.partial.onnx`)
      yield* Effect.try({
        try: () => {
          writeFileSync(partial, bytes)
          renameSync(partial, out)
        },
        catch: (e) => {
          rmSync(partial, { force: true })
          return new InputError({ file: out, problem: `cannot write: ${e instanceof Error ? e.message : String(e)}` })
        }
      })
      const trained =
        index.kind === "Encoder" ? `pre-trained by ${index.method}` : `fine-tuned from ${index.pretraining}, ${index.numClasses} classes`
      return { out, bytes: bytes.length, model: dir, kind, trained, inputSize: index.inputSize }
    })
    const layer = computeLayer({ backend, threads: 0 })
    return runCommandEffect(Effect.scoped(program).pipe(Effect.provide(Layer.fresh(layer))), io, (r) => {
      if (values.json) io.stdout(JSON.stringify(r) + "\n")
      else
        io.stdout(
          `wrote ${r.out} (${formatBytes(r.bytes)}, ONNX opset 17): ${r.kind} ${r.model} (${r.trained}), ` +
            `input "input" [N, 1, ${r.inputSize}, ${r.inputSize}] NCHW, output "output"\n`
        )
      return EXIT_OK
    })
  }
}
