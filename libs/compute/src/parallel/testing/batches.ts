import type { Batch } from "@tomoprior/core"

/** n slices (size²) whose content drifts with their position, so the ranking task can learn the order. */
export const orderedBatch = (n: number, size: number, seed: number): Batch => {
  const positions = Array.from({ length: n }, (_, i) => (i * 5 + seed * 3) % n)
  const inputs = new Float32Array(n * size * size)
  positions.forEach((z, i) => {
    for (let k = 0; k < size * size; k++) inputs[i * size * size + k] = Math.sin(k * 0.3 + seed) * 0.3 + (z / n) * ((k % size) / size)
  })
  return { inputs, shape: [n, size, size, 1], meta: { positions } }
}
