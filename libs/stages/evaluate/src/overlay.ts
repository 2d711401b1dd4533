import { PNG } from "pngjs"

/** Label colors (RGB) for ids 1…; background stays grey. Picked to be told apart on CT grey. */
const PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [230, 60, 60],
  [60, 160, 230],
  [240, 200, 40],
  [80, 200, 90],
  [200, 80, 220],
  [255, 140, 0],
  [0, 200, 200]
]

const ALPHA = 0.55

/**
 * One PNG with three panels side by side: the slice (min–max windowed), the slice with the truth
 * colored in, and the slice with the prediction colored in.
 */
export const overlayPng = (
  image: Float32Array,
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  height: number,
  width: number
): Buffer => {
  let lo = Infinity
  let hi = -Infinity
  for (const v of image) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  const range = hi > lo ? hi - lo : 1
  const png = new PNG({ width: 3 * width, height })
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x
      const grey = Math.round((255 * (image[i] - lo)) / range)
      const panels = [0, truth[i], predicted[i]]
      panels.forEach((label, p) => {
        const o = 4 * (y * 3 * width + p * width + x)
        const color = label > 0 ? PALETTE[(label - 1) % PALETTE.length] : null
        for (let c = 0; c < 3; c++) png.data[o + c] = color ? Math.round((1 - ALPHA) * grey + ALPHA * color[c]) : grey
        png.data[o + 3] = 255
      })
    }
  }
  return PNG.sync.write(png)
}
