import { PCA } from "ml-pca"
import type { EmbeddedVolume, Encoding } from "@tomoprior/core"

/** One volume through an encoder: each slice's embedding and, with a score head, its score. */
export interface VolumeEmbedding {
  readonly id: string
  readonly embeddings: ReadonlyArray<Float32Array>
  readonly scores?: Float32Array
}

/**
 * What describes a slice: the encoder's pooled features when the model has a head (its outputs are
 * a score or a SimCLR projection, which serve the loss), else the bare encoder's outputs. A 1-unit
 * head's output is the slice's score.
 */
export const volumeEmbedding = (id: string, encoding: Encoding, outputSize: number): VolumeEmbedding => ({
  id,
  embeddings: encoding.features ?? encoding.outputs,
  ...(encoding.features && outputSize === 1 ? { scores: Float32Array.from(encoding.outputs, (o) => o[0]) } : {})
})

/**
 * A float32 array as a NumPy .npy file (format 1.0: magic, header dict padded so the data starts
 * on a 64-byte boundary, little-endian C-order data), what `numpy.load` reads.
 */
export const npy = (data: Float32Array, shape: ReadonlyArray<number>): Uint8Array => {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`
  const unpadded = 10 + dict.length + 1
  const header = dict + " ".repeat((64 - (unpadded % 64)) % 64) + "\n"
  const bytes = new Uint8Array(10 + header.length + 4 * data.length)
  const view = new DataView(bytes.buffer)
  bytes.set([0x93, ...Buffer.from("NUMPY"), 1, 0])
  view.setUint16(8, header.length, true)
  bytes.set(Buffer.from(header, "latin1"), 10)
  for (let i = 0; i < data.length; i++) view.setFloat32(10 + header.length + 4 * i, data[i], true)
  return bytes
}

export interface Projection {
  /** Per volume, per slice: [pc1, pc2]. */
  readonly points: ReadonlyArray<ReadonlyArray<readonly [number, number]>>
  readonly explainedVariance: readonly [number, number]
}

/**
 * Every slice of every volume on the first two principal components of all the slices' embeddings
 * (ml-pca: SVD of the centered rows). Components that do not exist (one slice, one dimension, no
 * variance) are 0.
 */
export const projection = (volumes: ReadonlyArray<VolumeEmbedding>): Projection => {
  const rows = volumes.flatMap((v) => v.embeddings.map((e) => Array.from(e)))
  const components = Math.min(2, rows[0]?.length ?? 0, rows.length - 1)
  const pca = components > 0 ? new PCA(rows, { method: "SVD", center: true }) : undefined
  const projected = pca?.predict(rows, { nComponents: components }).to2DArray() ?? []
  const explained = pca?.getExplainedVariance() ?? []
  const at = (row: ReadonlyArray<number> | undefined, k: number) => (k < components && Number.isFinite(row?.[k]) ? row![k] : 0)
  let next = 0
  return {
    points: volumes.map((v) =>
      v.embeddings.map(() => {
        const row = projected[next++]
        return [at(row, 0), at(row, 1)] as const
      })
    ),
    explainedVariance: [0, 1].map((k) => (k < components && Number.isFinite(explained[k]) ? explained[k] : 0)) as [number, number]
  }
}

/** Shortest decimal that reads back as the same float32 (9 significant digits always do). */
const f32 = (v: number): string => String(+v.toPrecision(9))

/** A relative slice position: 0 = first, 1 = last (0 for a one-slice volume). */
export const slicePosition = (z: number, slices: number): number => (slices > 1 ? z / (slices - 1) : 0)

/** Every slice as one CSV row: volume, slice, position, score (when the encoder scores), pc1, pc2, e0, e1, … */
export const embeddingsCsv = (volumes: ReadonlyArray<VolumeEmbedding>, p: Projection): string => {
  const dims = volumes[0]?.embeddings[0]?.length ?? 0
  const scored = volumes.every((v) => v.scores)
  const head = [
    "volume",
    "slice",
    "position",
    ...(scored ? ["score"] : []),
    "pc1",
    "pc2",
    ...Array.from({ length: dims }, (_, j) => `e${j}`)
  ]
  const quoted = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s)
  const lines = [head.join(",")]
  volumes.forEach((v, n) =>
    v.embeddings.forEach((e, z) => {
      const cells = [quoted(v.id), String(z), f32(slicePosition(z, v.embeddings.length))]
      if (scored) cells.push(f32(v.scores![z]))
      cells.push(...p.points[n][z].map(f32), ...Array.from(e, f32))
      lines.push(cells.join(","))
    })
  )
  return lines.join("\n") + "\n"
}

/** The files of an Embeddings artifact (paths relative to its directory) and its index, without `kind`. */
export const embeddingFiles = (method: string, volumes: ReadonlyArray<VolumeEmbedding>) => {
  const p = projection(volumes)
  const dims = volumes[0]?.embeddings[0]?.length ?? 0
  const files: Array<{ readonly path: string; readonly data: string | Uint8Array }> = []
  const entries: Array<EmbeddedVolume> = volumes.map((v, n) => {
    const flat = new Float32Array(v.embeddings.length * dims)
    v.embeddings.forEach((e, z) => flat.set(e, z * dims))
    files.push({ path: `${v.id}/embeddings.npy`, data: npy(flat, [v.embeddings.length, dims]) })
    if (v.scores) files.push({ path: `${v.id}/scores.npy`, data: npy(v.scores, [v.scores.length]) })
    return {
      id: v.id,
      slices: v.embeddings.length,
      embeddings: `${v.id}/embeddings.npy`,
      ...(v.scores ? { scores: `${v.id}/scores.npy` } : {}),
      projection: p.points[n]
    }
  })
  files.push({ path: "embeddings.csv", data: embeddingsCsv(volumes, p) })
  return { files, index: { method, dims, volumes: entries, csv: "embeddings.csv", explainedVariance: p.explainedVariance } }
}
