// init(): check the kernel, take the root, prepare it, recover from an earlier
// process: scratch and half-made layers are deleted, live mounts adopted,
// layers unmounted without being tidied tidied. A read-only driver does none
// of that: it only reads.
import { execFile } from 'node:child_process';
import { access, chmod, constants as fsConstants, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { AufsMounter, probeDirperm1 } from './aufsMounter';
import { Driver } from './driver';
import { DriverError, ErrAufsNotSupported, ErrIncompatibleFS, invalidArgType, isErrorCode } from './errors';
import { INCOMPATIBLE_BACKING_FS, backingFsName } from './fsMagic';
import { LAYOUT_DIRS, Layout, makeDir } from './layout';
import type { UnionMounter } from './mounter';
import { native } from './native';
import { ProgramMounter } from './programMounter';
import { RootLock } from './rootLock';

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

/** How init() opens a root: the third argument. */
export interface InitOptions {
  /**
   * Open the root without taking it, beside its owner: only the calls that
   * read work (layers, parents, exists, status, changes, diff, diffSize,
   * incomplete); the others reject with ERR_READ_ONLY. Nothing under the root
   * is written, deleted, mounted or unmounted, and the root must exist.
   */
  readOnly?: boolean;
  /**
   * One line that says what holds the root, quoted by the ERR_ROOT_LOCKED of
   * whoever tries to take it meanwhile. Default: this process's command line.
   */
  owner?: string;
}

/** Longest default owner: a command line can be long, the error quoting it should not be. */
const OWNER_MAX = 200;

/**
 * Returns a driver for `root`. Unless `readOnly`, the driver owns the root
 * until close() or the end of the process: it takes the root's lock (another
 * owner, in this process or another, makes it reject at once with
 * ERR_ROOT_LOCKED), prepares the root and finishes what an earlier owner left
 * half done.
 */
export async function init(root: string, options: readonly string[] = [], initOptions: InitOptions = {}): Promise<Driver> {
  if (typeof root !== 'string' || root === '') {
    throw new DriverError('ERR_INVALID_OPTION', 'root must be a non-empty path');
  }
  const parsed = parseOptions(options);
  const { readOnly, owner } = checkInitOptions(initOptions);
  const layout = new Layout(path.resolve(root));
  const mounter = await chooseMounter(parsed);
  if (readOnly) {
    // A root that is not there is a mistyped path, not an empty store.
    await stat(layout.layersDir);
    return new Driver(layout, mounter, { lock: undefined, adoptedMounts: [] });
  }
  await assertCompatibleParent(layout.root);
  await makeRoot(layout);
  const lock = await RootLock.take(layout.root, owner);
  try {
    await makeLayoutDirs(layout, mounter);
    await layout.sweepScratch();
    await layout.sweepOrphans();
    const liveMounts = await findLiveMounts(layout, mounter);
    await finishUnmounts(layout, mounter, liveMounts);
    return new Driver(layout, mounter, { lock, adoptedMounts: liveMounts });
  } catch (err) {
    await lock.release();
    throw err;
  }
}

function checkInitOptions(initOptions: InitOptions): Required<InitOptions> {
  if (typeof initOptions !== 'object' || initOptions === null) {
    throw invalidArgType('initOptions', 'an object', initOptions);
  }
  const { readOnly = false, owner = defaultOwner() } = initOptions;
  if (typeof readOnly !== 'boolean') throw invalidArgType('initOptions.readOnly', 'a boolean', readOnly);
  if (typeof owner !== 'string') throw invalidArgType('initOptions.owner', 'a string', owner);
  if (/[\n\0]/.test(owner)) throw new DriverError('ERR_INVALID_OPTION', 'initOptions.owner must be one line');
  return { readOnly, owner };
}

function defaultOwner(): string {
  const line = [path.basename(process.argv0), ...process.argv.slice(1)].join(' ').replace(/[\n\0]/g, ' ');
  return line.length <= OWNER_MAX ? line : `${line.slice(0, OWNER_MAX - 1)}…`;
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

async function makeRoot(layout: Layout): Promise<void> {
  const made = await mkdir(layout.root, { mode: ROOT_MODE, recursive: true });
  if (made !== undefined) await chmod(layout.root, ROOT_MODE);
}

async function makeLayoutDirs(layout: Layout, mounter: UnionMounter): Promise<void> {
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
