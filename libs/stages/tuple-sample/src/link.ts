import { copyFile, link, mkdir, readdir } from "node:fs/promises"
import { join } from "node:path"

/**
 * Mirrors an artifact directory by hard links (a copy where the filesystem refuses links), leaving
 * out its manifest: the tree becomes part of another artifact, whose manifest covers it.
 * Stand-in until the volume library's `linkArtifactTree` exists.
 */
export const linkOrCopyTree = async (src: string, dst: string, top = true): Promise<void> => {
  await mkdir(dst, { recursive: true })
  for (const entry of await readdir(src, { withFileTypes: true })) {
    if (top && entry.name === "manifest.json") continue
    const from = join(src, entry.name)
    const to = join(dst, entry.name)
    if (entry.isDirectory()) await linkOrCopyTree(from, to, false)
    else await link(from, to).catch(() => copyFile(from, to))
  }
}
