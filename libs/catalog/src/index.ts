import { type BuiltinStages, findRepoRoot, StageRegistry } from "@tomoprior/runner"
import * as evaluate from "@tomoprior/stage-evaluate"
import * as embed from "@tomoprior/stage-embed"
import * as finetune from "@tomoprior/stage-finetune"
import * as ingest from "@tomoprior/stage-ingest"
import * as interleave from "@tomoprior/stage-interleave"
import * as localize from "@tomoprior/stage-localize"
import * as normalize from "@tomoprior/stage-normalize"
import * as pretrainSimclr from "@tomoprior/stage-pretrain-simclr"
import * as pretrainSorting from "@tomoprior/stage-pretrain-sorting"
import * as report from "@tomoprior/stage-report"
import * as tupleSample from "@tomoprior/stage-tuple-sample"
import type { Layer } from "effect"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * Every stage type tomoprior ships, imported statically so tsc, `nx graph` and the boundary check
 * see each edge. Adding a built-in stage = a library under libs/stages/ + one line here.
 */
export const builtinStages: BuiltinStages = {
  packages: [
    { name: "@tomoprior/stage-ingest", stages: ingest.stages },
    { name: "@tomoprior/stage-normalize", stages: normalize.stages },
    { name: "@tomoprior/stage-interleave", stages: interleave.stages },
    { name: "@tomoprior/stage-tuple-sample", stages: tupleSample.stages },
    { name: "@tomoprior/stage-pretrain-sorting", stages: pretrainSorting.stages },
    { name: "@tomoprior/stage-pretrain-simclr", stages: pretrainSimclr.stages },
    { name: "@tomoprior/stage-finetune", stages: finetune.stages },
    { name: "@tomoprior/stage-evaluate", stages: evaluate.stages },
    { name: "@tomoprior/stage-localize", stages: localize.stages },
    { name: "@tomoprior/stage-embed", stages: embed.stages },
    { name: "@tomoprior/stage-report", stages: report.stages }
  ],
  // The workspace root: plug-ins installed next to tomoprior resolve from here.
  installDir: findRepoRoot(dirname(fileURLToPath(import.meta.url))) ?? process.cwd()
}

/** The registry every entry point uses: the built-ins plus each pipeline's `plugins:`. */
export const builtinRegistry: Layer.Layer<StageRegistry> = StageRegistry.layer(builtinStages)
