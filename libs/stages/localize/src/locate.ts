import type { Encoding, LocatedScan } from "@tomoprior/core"
import { embeddingDescriptors } from "./analyze.ts"
import { locateScan, sliceDistances } from "./localize.ts"

/** A scan as an encoder described it, slice by slice, with its slice spacing when its header has one. */
export interface DescribedScan {
  readonly name: string
  readonly encoding: Encoding
  readonly sliceSpacing?: number
}

/** How far a placement must lie from the best (in scan slices) to count as the alternative. */
export const RUNNER_UP_SLICES = 3

/**
 * Where `scan` sits inside `reference`: both described by the same encoder (pooled features when it
 * has them — far more telling than a score — else its outputs), standardized together, compared slice
 * against slice, and the scan slid along the reference over at least 80 % of its slices. With both
 * slice spacings the scale is their ratio and only the offset is searched; otherwise ¼× to 4×.
 * Null when either has fewer than 2 slices.
 */
export const locateInReference = (scan: DescribedScan, reference: DescribedScan): LocatedScan | null => {
  const rows = (d: DescribedScan) => d.encoding.features ?? d.encoding.outputs
  const descriptors = embeddingDescriptors([
    ["scan", rows(scan)],
    ["reference", rows(reference)]
  ])
  const scale = scan.sliceSpacing && reference.sliceSpacing ? scan.sliceSpacing / reference.sliceSpacing : undefined
  const found = locateScan(sliceDistances(descriptors.get("scan")!, descriptors.get("reference")!), {
    ...(scale ? { scale } : {}),
    minOverlap: 0.8,
    maxScale: 4,
    margin: RUNNER_UP_SLICES * (scale ?? 1)
  })
  if (!found) return null
  const scanSlices = rows(scan).length
  return {
    scan: scan.name,
    reference: reference.name,
    scanSlices,
    referenceSlices: rows(reference).length,
    offset: found.offset,
    scale: found.scale,
    lastSlice: found.offset + found.scale * (scanSlices - 1),
    scaleFrom: scale ? "spacing" : "searched",
    cost: found.cost,
    overlap: found.overlap,
    confidence: found.confidence,
    runnerUp: found.runnerUp ? { offset: found.runnerUp.offset, scale: found.runnerUp.scale, cost: found.runnerUp.cost } : null
  }
}
