import { Effect } from "effect"
import { join } from "node:path"
import { identityAffine, volumeEntry, writeVolume, writeVolumeSetIndex } from "@tomoprior/volume"
import { artifactFromDir, tempDir } from "./index.ts"

export const SIZE = 16

/**
 * `count` volumes of SIZE² slices, depths 18, 21, 24…: label 1 a disc on slices [depth/4, depth/2],
 * label 2 a bar on [depth/2, 3·depth/4]; intensity rises with z so slice order is visible.
 */
export const tinyVolumeSet = (count: number) =>
  Effect.gen(function* () {
    const dir = tempDir("tomoprior-tiny-set-")
    const entries = []
    for (let v = 0; v < count; v++) {
      const depth = 18 + 3 * v
      const disc = [Math.floor(depth / 4), Math.floor(depth / 2)]
      const bar = [Math.floor(depth / 2) + 1, Math.floor((3 * depth) / 4)]
      const header = yield* writeVolume(
        join(dir, `v${v}`),
        {
          dims: [depth, SIZE, SIZE],
          spacing: [1, 1, 1],
          dtype: "float32",
          affine: identityAffine([1, 1, 1]),
          axisCodes: ["R", "A", "S"],
          source: `tiny#${v}`,
          labelDtype: "uint8"
        },
        (z) => {
          const voxels = new Float32Array(SIZE * SIZE)
          const labels = new Uint8Array(SIZE * SIZE)
          for (let y = 0; y < SIZE; y++) {
            for (let x = 0; x < SIZE; x++) {
              const i = y * SIZE + x
              voxels[i] = 0.2 + (0.3 * z) / depth
              if (z >= disc[0] && z <= disc[1] && (x - 5) ** 2 + (y - 8) ** 2 <= 9) labels[i] = 1
              if (z >= bar[0] && z <= bar[1] && x >= 10 && x <= 12) labels[i] = 2
              if (labels[i] !== 0) voxels[i] += 0.4 * labels[i]
            }
          }
          return Effect.succeed({ voxels, labels })
        }
      )
      entries.push(volumeEntry(`v${v}`, `v${v}`, header))
    }
    yield* writeVolumeSetIndex(dir, entries, { "0": "background", "1": "disc", "2": "bar" })
    return artifactFromDir("VolumeSet", dir, "tiny")
  })
