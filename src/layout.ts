// Where a layer lives under the root, in the layout Docker's aufs driver used:
//   layers/ID  ancestors of ID, nearest first, one per line
//   diff/ID    the layer's own files
//   mnt/ID     where the union is mounted
// plus work/ID, the mount program's scratch directory, outside diff/, and
// incomplete/ID, an empty file marking a layer whose applyDiff has not finished.
import { lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

import { DriverError, isErrorCode, layerNotFound } from './errors';
import { SCRATCH_SUFFIX, checkId, idProblem, isValidId } from './ids';
import type { UnmountedLayer } from './mounter';
import { native, type LayerMountState, type MountSetup } from './native';

export const LAYOUT_DIRS = ['mnt', 'diff', 'layers', 'incomplete'] as const;

export class Layout {
  readonly root: string;
  readonly layersDir: string;
  readonly diffDir: string;
  readonly mntDir: string;
  readonly workDir: string;
  readonly incompleteDir: string;

  constructor(root: string) {
    this.root = root;
    this.layersDir = path.join(root, 'layers');
    this.diffDir = path.join(root, 'diff');
    this.mntDir = path.join(root, 'mnt');
    this.workDir = path.join(root, 'work');
    this.incompleteDir = path.join(root, 'incomplete');
  }

  layerFile(id: string): string {
    return path.join(this.layersDir, checkId(id));
  }

  diffPath(id: string): string {
    return path.join(this.diffDir, checkId(id));
  }

  mountPath(id: string): string {
    return path.join(this.mntDir, checkId(id));
  }

  workPath(id: string): string {
    return path.join(this.workDir, checkId(id));
  }

  incompleteMarker(id: string): string {
    return path.join(this.incompleteDir, checkId(id));
  }

  /** The directories the mounter tidies after an unmount. */
  unmountedLayer(id: string): UnmountedLayer {
    return { upper: this.diffPath(id), work: this.workPath(id) };
  }

  async exists(id: string): Promise<boolean> {
    return pathExists(this.layerFile(id));
  }

  /**
   * Ancestors of `id`, nearest first, as its layers file lists them.
   * ERR_LAYER_NOT_FOUND when `id` has no layers file, ERR_CORRUPT_LAYER when
   * the file is not one or names an invalid id.
   */
  async readParents(id: string): Promise<string[]> {
    return (await this.#readLayersFile(id, false)).parents;
  }

  /** readParents(), and ERR_CORRUPT_LAYER unless every ancestor exists. */
  async readChain(id: string): Promise<string[]> {
    return (await this.#readLayersFile(id, true)).parents;
  }

  /**
   * readChain(), and what mounting the layer needs, in the same trip to the
   * addon: the layer's directories made and the type of what is mounted on
   * its mount point (0 for nothing).
   */
  async readChainForMount(id: string, setup: MountSetup): Promise<{ parents: string[]; mountType: number }> {
    return this.#readLayersFile(id, true, setup);
  }

  async #readLayersFile(
    id: string,
    checkParents: boolean,
    setup?: MountSetup,
  ): Promise<{ parents: string[]; mountType: number }> {
    const file = this.layerFile(id);
    let state: LayerMountState;
    try {
      state = await native.checkLayerMount(file, this.layersDir, checkParents, setup);
    } catch (err) {
      if (isErrorCode(err, 'ENOENT') && err.path === file) throw layerNotFound(id, file);
      throw err;
    }
    if (state.problem !== '') throw new DriverError('ERR_CORRUPT_LAYER', `corrupt layers file: ${state.problem}`, file);
    const parents = parseParents(id, file, state.chain);
    if (state.missingParent !== '') {
      throw new DriverError(
        'ERR_CORRUPT_LAYER',
        `layer ${JSON.stringify(id)} lists parent ${JSON.stringify(state.missingParent)}, which does not exist`,
        file,
      );
    }
    return { parents, mountType: state.mountType };
  }

  /**
   * Writes `layers/ID` through a scratch file, fsync and rename, so that a
   * crash leaves either no layer or one with its whole parent chain.
   */
  async writeParents(id: string, parents: readonly string[]): Promise<void> {
    const file = this.layerFile(id);
    const scratch = file + SCRATCH_SUFFIX;
    const fh = await open(scratch, 'w', 0o644);
    try {
      try {
        await fh.writeFile(parents.map((p) => `${p}\n`).join(''));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(scratch, file);
    } catch (err) {
      await unlinkIfExists(scratch).catch(() => undefined);
      throw err;
    }
    await syncDir(this.layersDir);
  }

  /** Ids of every layer: the names in layers/ that can be ids. */
  async layerIds(): Promise<string[]> {
    const names = await readdir(this.layersDir);
    return names.filter((name) => isValidId(name));
  }

  /** Ids under work/: layers mounted by a mount program and not tidied since. */
  async workIds(): Promise<string[]> {
    return idsIn(this.workDir);
  }

  /** Ids under mnt/: every directory that may hold a mount of ours. */
  async mountIds(): Promise<string[]> {
    return idsIn(this.mntDir);
  }

  /**
   * Marks `id` incomplete, durably, before anything is extracted into it:
   * whatever of the extraction reaches the disk, the marker got there first.
   */
  async markIncomplete(id: string): Promise<void> {
    const fh = await open(this.incompleteMarker(id), 'w', 0o644);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await syncDir(this.incompleteDir);
  }

  /** Drops the marker of `id`, durably when there was one. */
  async clearIncomplete(id: string): Promise<void> {
    if (await unlinkIfExists(this.incompleteMarker(id))) await syncDir(this.incompleteDir);
  }

  /** Ids of the layers that carry an incomplete marker. */
  async incompleteIds(): Promise<string[]> {
    const ids = await idsIn(this.incompleteDir);
    const present = await Promise.all(ids.map((id) => this.exists(id)));
    return ids.filter((_, i) => present[i]);
  }

  async removeLayerFile(id: string): Promise<void> {
    // A tree, not unlink(): whatever corruption put there goes too.
    await removeTreeIfExists(this.layerFile(id));
    await syncDir(this.layersDir);
  }

  /**
   * Deletes a layer directory: renamed to NAME-removing first, so that it is
   * gone from view at once and a crash mid-delete leaves only scratch.
   */
  async removeDir(dir: string): Promise<void> {
    const scratch = dir + SCRATCH_SUFFIX;
    try {
      await rename(dir, scratch);
    } catch (err) {
      if (isErrorCode(err, 'ENOTEMPTY', 'EEXIST')) {
        // An earlier remove died after its rename: finish that one first.
        await removeTreeIfExists(scratch);
        await rename(dir, scratch);
      } else if (!isErrorCode(err, 'ENOENT')) {
        throw err;
      }
    }
    await removeTreeIfExists(scratch);
  }

  /**
   * Deletes layer directories and markers that have no layers file: what a
   * create or remove killed half way left behind. No layer exists without
   * that file.
   */
  async sweepOrphans(): Promise<void> {
    const layers = new Set(await readdirIfExists(this.layersDir));
    for (const dir of [this.diffDir, this.mntDir, this.workDir, this.incompleteDir]) {
      for (const name of await readdirIfExists(dir)) {
        if (isValidId(name) && !layers.has(name)) await unlessBusy(this.removeDir(path.join(dir, name)));
      }
    }
  }

  /** Deletes whatever scratch an earlier process left in the layout's directories. */
  async sweepScratch(): Promise<void> {
    for (const dir of [this.layersDir, this.diffDir, this.mntDir, this.workDir, this.incompleteDir]) {
      for (const name of await readdirIfExists(dir)) {
        if (name.endsWith(SCRATCH_SUFFIX)) await unlessBusy(removeTreeIfExists(path.join(dir, name)));
      }
    }
  }
}

/** The parents a layers file lists, checked as ids: ERR_CORRUPT_LAYER when one cannot be. */
function parseParents(id: string, file: string, text: string): string[] {
  // Docker skipped empty lines when reading these files; so do we.
  const parents = text.split('\n').filter((line) => line !== '');
  const seen = new Set<string>([id]);
  parents.forEach((parent, index) => {
    const problem = idProblem(parent) ?? (seen.has(parent) ? 'appears twice in the chain' : undefined);
    if (problem !== undefined) {
      throw new DriverError(
        'ERR_CORRUPT_LAYER',
        `corrupt layers file: line ${index + 1} (${JSON.stringify(parent)}) ${problem}`,
        file,
      );
    }
    seen.add(parent);
  });
  return parents;
}

/** Waits for a removal; one that failed because something is mounted there is left for whoever mounted it. */
async function unlessBusy(removal: Promise<void>): Promise<void> {
  try {
    await removal;
  } catch (err) {
    if (!isErrorCode(err, 'EBUSY')) throw err;
  }
}

/**
 * Makes the directory `dir`, whose parent exists, unless it is there. (A
 * recursive mkdir would do, but Node reports its EROFS as ENOENT.)
 */
export async function makeDir(dir: string, mode: number): Promise<void> {
  try {
    await mkdir(dir, { mode });
  } catch (err) {
    if (!isErrorCode(err, 'EEXIST')) throw err;
  }
}

export async function pathExists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (err) {
    if (isErrorCode(err, 'ENOENT')) return false;
    throw err;
  }
}

/** The names in `dir` that can be layer ids; none when `dir` is missing. */
async function idsIn(dir: string): Promise<string[]> {
  return (await readdirIfExists(dir)).filter((name) => isValidId(name));
}

async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isErrorCode(err, 'ENOENT')) return [];
    throw err;
  }
}

/** Whether there was a `file` to unlink. */
async function unlinkIfExists(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (err) {
    if (!isErrorCode(err, 'ENOENT')) throw err;
    return false;
  }
}

export async function removeTreeIfExists(target: string): Promise<void> {
  try {
    await native.removeTree(target);
  } catch (err) {
    if (!isErrorCode(err, 'ENOENT')) throw err;
  }
}

/** Makes a rename or unlink in `dir` durable. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
