import { makeRng } from "@tomoprior/augment"

/**
 * Slice indices for each training step: consecutive seeded permutations of 0..n−1 cut into
 * batches of exactly `batchSize` (the trainer splits a batch into equal partitions), so every
 * slice is seen equally often and a batch may repeat slices when n < batchSize.
 */
export const batchSampler = (n: number, batchSize: number, seed: number): (() => ReadonlyArray<number>) => {
  const rng = makeRng(seed ^ 0x51ce)
  let order: Array<number> = []
  return () => {
    while (order.length < batchSize) order = [...order, ...rng.shuffle(Array.from({ length: n }, (_, i) => i))]
    return order.splice(0, batchSize)
  }
}

/**
 * One step's inputs and one-hot targets: the picked slices of `images` (size² floats each) and
 * their class maps of `labels` as [batch, size, size, numClasses].
 */
export const stepBatch = (
  images: Float32Array,
  labels: ArrayLike<number>,
  picked: ReadonlyArray<number>,
  pixelsPerSlice: number,
  numClasses: number
): { readonly inputs: Float32Array; readonly targets: Float32Array } => {
  const inputs = new Float32Array(picked.length * pixelsPerSlice)
  const targets = new Float32Array(picked.length * pixelsPerSlice * numClasses)
  picked.forEach((slice, b) => {
    inputs.set(images.subarray(slice * pixelsPerSlice, (slice + 1) * pixelsPerSlice), b * pixelsPerSlice)
    for (let i = 0; i < pixelsPerSlice; i++) targets[(b * pixelsPerSlice + i) * numClasses + labels[slice * pixelsPerSlice + i]] = 1
  })
  return { inputs, targets }
}
