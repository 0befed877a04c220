// Where a layer lives under the root, in the layout Docker's aufs driver used:
//   layers/ID  ancestors of ID, nearest first, one per line
//   diff/ID    the layer's own files
//   mnt/ID     where the union is mounted
// plus work/ID, the mount program's scratch directory, outside diff/.
import { lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

import { DriverError, isErrorCode, layerNotFound } from './errors';
import { SCRATCH_SUFFIX, checkId, idProblem, isValidId } from './ids';
import { native, type LayerMountState, type MountSetup } from './native';

export const LAYOUT_DIRS = ['mnt', 'diff', 'layers'] as const;

export class Layout {
  readonly root: string;
  readonly layersDir: string;
  readonly diffDir: string;
  readonly mntDir: string;
  readonly workDir: string;

  constructor(root: string) {
    this.root = root;
    this.layersDir = path.join(root, 'layers');
    this.diffDir = path.join(root, 'diff');
    this.mntDir = path.join(root, 'mnt');
    this.workDir = path.join(root, 'work');
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

  async exists(id: string): Promise<boolean> {
    try {
      await lstat(this.layerFile(id));
      return true;
    } catch (err) {
      if (isErrorCode(err, 'ENOENT')) return false;
      throw err;
    }
  }

  /** Ancestors of `id`, nearest first. ERR_LAYER_NOT_FOUND when `id` has no layers file. */
  async readParents(id: string): Promise<string[]> {
    return (await this.readParentsForMount(id)).parents;
  }

  /**
   * readParents(), and with `setup` what mounting the layer needs, in the
   * same trip to the addon: ERR_CORRUPT_LAYER when a parent does not exist,
   * else the layer's directories made and the type of what is mounted on its
   * mount point (0 for nothing).
   */
  async readParentsForMount(id: string, setup?: MountSetup): Promise<{ parents: string[]; mountType: number }> {
    const file = this.layerFile(id);
    let state: LayerMountState;
    try {
      state = await native.checkLayerMount(file, this.layersDir, setup);
    } catch (err) {
      if (isErrorCode(err, 'ENOENT') && err.path === file) throw layerNotFound(id, file);
      throw err;
    }
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
      await fh.writeFile(parents.map((p) => `${p}\n`).join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(scratch, file);
    await syncDir(this.layersDir);
  }

  /** Ids of every layer: the names in layers/ that can be ids. */
  async layerIds(): Promise<string[]> {
    const names = await readdir(this.layersDir);
    return names.filter((name) => isValidId(name));
  }

  /** Ids under mnt/: every directory that may hold a mount of ours. */
  async mountIds(): Promise<string[]> {
    const names = await readdirIfExists(this.mntDir);
    return names.filter((name) => isValidId(name));
  }

  async removeLayerFile(id: string): Promise<void> {
    await unlinkIfExists(this.layerFile(id));
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
   * Deletes layer directories that have no layers file: what a create or
   * remove killed half way left behind. No layer exists without that file.
   */
  async sweepOrphans(): Promise<void> {
    const layers = new Set(await readdirIfExists(this.layersDir));
    for (const dir of [this.diffDir, this.mntDir, this.workDir]) {
      for (const name of await readdirIfExists(dir)) {
        if (!isValidId(name) || layers.has(name)) continue;
        try {
          await this.removeDir(path.join(dir, name));
        } catch (err) {
          // Something is mounted there: leave it for whoever mounted it.
          if (!isErrorCode(err, 'EBUSY')) throw err;
        }
      }
    }
  }

  /** Deletes whatever scratch an earlier process left in the layout's directories. */
  async sweepScratch(): Promise<void> {
    for (const dir of [this.layersDir, this.diffDir, this.mntDir, this.workDir]) {
      for (const name of await readdirIfExists(dir)) {
        if (name.endsWith(SCRATCH_SUFFIX)) await removeTreeIfExists(path.join(dir, name));
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

async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isErrorCode(err, 'ENOENT')) return [];
    throw err;
  }
}

async function unlinkIfExists(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if (!isErrorCode(err, 'ENOENT')) throw err;
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
