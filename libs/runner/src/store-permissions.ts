import { chmod, readdir, stat } from "node:fs/promises"
import { join } from "node:path"

/**
 * A store is shared by a Unix group when its root directory is group-writable (set it up with
 * `chgrp <group> DIR && chmod 2770 DIR`: the setgid bit makes everything below belong to the group,
 * as Linux copies it onto new subdirectories).
 */
export const isGroupShared = async (root: string): Promise<boolean> => {
  const s = await stat(root).catch(() => undefined)
  return s !== undefined && (s.mode & 0o020) !== 0
}

/**
 * In a group-shared store, whatever this process (or a stage it runs) creates must stay writable
 * for the group, or another member's run cannot replace the lock file, clear temp outputs or
 * resume from checkpoints (DVC's long-standing `cache.shared` bug). A umask without group bits is
 * the one setting that covers files stages create themselves. "Other" permissions are left as the
 * user's umask has them.
 */
export const adoptStoreUmask = async (root: string): Promise<void> => {
  if (await isGroupShared(root)) process.umask(process.umask() & ~0o070)
}

/**
 * Makes every file under a finished artifact read-only, so an editor or a stage writing through a
 * hard link fails instead of changing a cached result in place. Directories stay writable for
 * the owner (and the group of a shared store) so gc and `verify --repair` can delete entries. A
 * hard-linked file another user owns is already read-only from that user's commit.
 */
export const makeReadOnly = async (dir: string): Promise<void> => {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) await makeReadOnly(p)
    else {
      const { mode } = await stat(p)
      if ((mode & 0o222) !== 0) await chmod(p, mode & 0o7555)
    }
  }
}
