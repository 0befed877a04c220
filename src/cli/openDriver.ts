// The driver the CLI works through: init() with the operator's options, and
// fuse-overlayfs when the kernel has no aufs and no mount program was named.
import { access, constants as fsConstants } from 'node:fs/promises';

import { isErrorCode } from '../errors';
import { init, parseOptions, type InitOptions } from '../init';
import type { Driver } from '../index';

export const FALLBACK_MOUNT_PROGRAM = '/usr/bin/fuse-overlayfs';

export interface OpenedDriver {
  driver: Driver;
  /** What mounts the unions: "kernel aufs" or the mount program's path. */
  unionsBy: string;
}

export async function openDriver(
  root: string,
  options: readonly string[],
  initOptions: InitOptions = {},
): Promise<OpenedDriver> {
  const named = parseOptions(options).mountProgram;
  if (named !== undefined) return { driver: await init(root, options, initOptions), unionsBy: named };
  try {
    return { driver: await init(root, options, initOptions), unionsBy: 'kernel aufs' };
  } catch (err) {
    // init() fails on the kernel check before it writes anything under root.
    if (!isErrorCode(err, 'ERR_AUFS_NOT_SUPPORTED') || !(await isExecutable(FALLBACK_MOUNT_PROGRAM))) throw err;
    const driver = await init(root, [...options, `aufs.mount_program=${FALLBACK_MOUNT_PROGRAM}`], initOptions);
    return { driver, unionsBy: FALLBACK_MOUNT_PROGRAM };
  }
}

async function isExecutable(file: string): Promise<boolean> {
  return access(file, fsConstants.X_OK).then(
    () => true,
    () => false,
  );
}
