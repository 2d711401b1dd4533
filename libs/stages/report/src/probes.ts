import type { EncoderIndex } from "@tomoprior/core"
import { escape, table } from "./html.ts"

const PROBES = [
  ["knnProbe", "k-NN"],
  ["linearProbe", "linear"]
] as const

const cell = (before: number | undefined, after: number | undefined): string =>
  after === undefined ? "–" : before === undefined ? after.toFixed(3) : `${before.toFixed(3)} → <b>${after.toFixed(3)}</b>`

/**
 * The label-efficiency probes of each encoder that logged them: balanced accuracy of a k-NN vote
 * and of a linear classifier on its frozen slice embeddings against the organs each validation
 * slice shows, for the untrained encoder and after pre-training. Empty when no encoder has them.
 */
export const probeTable = (encoders: ReadonlyArray<{ readonly producer: string; readonly index: EncoderIndex }>): string => {
  const rows = encoders
    .filter((e) => PROBES.some(([k]) => e.index.final[k] !== undefined))
    .map((e) => [
      escape(e.producer),
      escape(e.index.method),
      ...PROBES.map(([k]) => cell(e.index.final[`untrained_${k}`], e.index.final[k]))
    ])
  if (rows.length === 0) return ""
  return table("Probes on frozen embeddings", ["stage", "method", ...PROBES.map(([, name]) => `${name}: untrained → pre-trained`)], rows, {
    detail:
      "Balanced accuracy (0.5 = chance) of telling which organs a held-out slice shows from the encoder's pooled features, " +
      "trained on the other validation volumes' slices: whether pre-training made the features useful before any fine-tuning. " +
      "Their course during pre-training is in the held-out metric panels above."
  })
}
