// init(): check the kernel, prepare the root, recover from an earlier process:
// scratch and half-made layers are deleted, live mounts adopted, layers
// unmounted without being tidied tidied.
import { execFile } from 'node:child_process';
import { access, chmod, constants as fsConstants, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { AufsMounter, probeDirperm1 } from './aufsMounter';
import { Driver } from './driver';
import { DriverError, ErrAufsNotSupported, ErrIncompatibleFS, isErrorCode } from './errors';
import { INCOMPATIBLE_BACKING_FS, backingFsName } from './fsMagic';
import { LAYOUT_DIRS, Layout, makeDir } from './layout';
import type { UnionMounter } from './mounter';
import { native } from './native';
import { ProgramMounter } from './programMounter';

const ROOT_MODE = 0o710;
const LAYOUT_DIR_MODE = 0o700;

/** Driver options, parsed from init()'s `key=value` strings. */
export interface DriverOptions {
  /** `aufs.mount_program=PATH`: mount unions with this FUSE program instead of kernel aufs. */
  mountProgram?: string;
}

export function parseOptions(options: readonly string[]): DriverOptions {
  if (!Array.isArray(options)) {
    throw new DriverError('ERR_INVALID_OPTION', 'options must be an array of "key=value" strings');
  }
  const parsed: DriverOptions = {};
  for (const option of options) {
    if (typeof option !== 'string') {
      throw new DriverError('ERR_INVALID_OPTION', `option ${String(option)} is not a "key=value" string`);
    }
    const eq = option.indexOf('=');
    const key = (eq < 0 ? option : option.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : option.slice(eq + 1).trim();
    if (key === 'aufs.mount_program' && value !== '') {
      parsed.mountProgram = value;
    } else if (key === 'aufs.mount_program') {
      throw new DriverError('ERR_INVALID_OPTION', `option ${JSON.stringify(option)} needs a program path`);
    } else {
      throw new DriverError('ERR_INVALID_OPTION', `unknown option ${JSON.stringify(option)} for the aufs driver`);
    }
  }
  return parsed;
}

/** Prepares `root` and returns a driver for it. */
export async function init(root: string, options: readonly string[] = []): Promise<Driver> {
  if (typeof root !== 'string' || root === '') {
    throw new DriverError('ERR_INVALID_OPTION', 'root must be a non-empty path');
  }
  const parsed = parseOptions(options);
  const absoluteRoot = path.resolve(root);
  const mounter = await chooseMounter(parsed);
  await assertCompatibleParent(absoluteRoot);

  const layout = new Layout(absoluteRoot);
  await prepareRoot(layout, mounter);
  await layout.sweepScratch();
  await layout.sweepOrphans();
  const liveMounts = await findLiveMounts(layout, mounter);
  await finishUnmounts(layout, mounter, liveMounts);
  return new Driver(layout, mounter, liveMounts);
}

async function chooseMounter(options: DriverOptions): Promise<UnionMounter> {
  if (options.mountProgram !== undefined) {
    const program = path.resolve(options.mountProgram);
    try {
      await access(program, fsConstants.X_OK);
    } catch (err) {
      throw new DriverError(
        'ERR_INVALID_OPTION',
        `aufs.mount_program ${program} is not an executable file (${(err as Error).message})`,
        program,
      );
    }
    return new ProgramMounter(program);
  }
  if (!(await aufsSupported())) {
    // The module may just not be loaded yet.
    await modprobe('aufs');
    if (!(await aufsSupported())) throw new ErrAufsNotSupported();
  }
  return new AufsMounter({ dirperm1: await probeDirperm1() });
}

async function aufsSupported(): Promise<boolean> {
  const filesystems = await readFile('/proc/filesystems', 'utf8');
  return filesystems.split('\n').some((line) => line.split('\t').pop() === 'aufs');
}

function modprobe(module: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('modprobe', [module], () => resolve());
  });
}

/** aufs cannot stack on btrfs or on aufs itself: refuse before writing anything. */
async function assertCompatibleParent(root: string): Promise<void> {
  let dir = path.dirname(root);
  for (;;) {
    try {
      const magic = await native.statfsType(dir);
      if (INCOMPATIBLE_BACKING_FS.has(magic)) throw new ErrIncompatibleFS(dir, backingFsName(magic));
      return;
    } catch (err) {
      // Parents that do not exist yet will be made on the filesystem above them.
      if (!isErrorCode(err, 'ENOENT') || dir === path.dirname(dir)) throw err;
      dir = path.dirname(dir);
    }
  }
}

async function prepareRoot(layout: Layout, mounter: UnionMounter): Promise<void> {
  const made = await mkdir(layout.root, { mode: ROOT_MODE, recursive: true });
  if (made !== undefined) await chmod(layout.root, ROOT_MODE);
  const dirs = LAYOUT_DIRS.map((name) => path.join(layout.root, name));
  if (mounter.needsWorkDir) dirs.push(layout.workDir);
  for (const dir of dirs) await makeDir(dir, LAYOUT_DIR_MODE);
}

/**
 * Tidies the layers an earlier process unmounted, or whose mount program
 * died, without tidying them: the mounter's work/ID says which.
 */
async function finishUnmounts(layout: Layout, mounter: UnionMounter, liveMounts: readonly string[]): Promise<void> {
  for (const id of await layout.workIds()) {
    if (!liveMounts.includes(id)) await mounter.afterUnmount(layout.unmountedLayer(id));
  }
}

/** Unions an earlier process left mounted under mnt/: adopted, counted once. */
async function findLiveMounts(layout: Layout, mounter: UnionMounter): Promise<string[]> {
  const ids = await layout.mountIds();
  const types = await Promise.all(
    ids.map((id) => native.mountType(layout.mountPath(id)).catch(() => 0)),
  );
  return ids.filter((_, i) => types[i] === mounter.magic);
}
