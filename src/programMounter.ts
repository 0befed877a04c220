// Kernels without aufs: the union comes from a FUSE program speaking
// overlayfs's options (fuse-overlayfs). It reads aufs whiteouts in the lower
// layers but writes overlay-form ones, which afterUnmount() turns back into
// aufs form. This is the one place the driver starts a child process.
import { execFile } from 'node:child_process';

import { DriverError } from './errors';
import { pathExists, removeTreeIfExists } from './layout';
import { assertMountablePath, labelOption } from './mountOptions';
import { native } from './native';
import type { UnionMounter, UnionMountRequest, UnmountedLayer } from './mounter';
import { unmountWith } from './unmount';

// fuse-overlayfs forks into the background once the mount is up; a program
// that has not managed that by now is stuck.
const MOUNT_TIMEOUT_MS = 60_000;

export class ProgramMounter implements UnionMounter {
  readonly magic = native.constants.FUSE_SUPER_MAGIC;
  readonly dirperm1 = false;
  readonly needsWorkDir = true;
  readonly program: string;

  constructor(program: string) {
    this.program = program;
  }

  get description(): string {
    return `mount program ${this.program}`;
  }

  async mount({ target, upper, lowers, work, label }: UnionMountRequest): Promise<void> {
    for (const dir of [upper, work, ...lowers]) assertMountablePath(dir);
    // allow_other: containers run as many users, not only the mounting root.
    const data = `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work},allow_other${labelOption(label)}`;
    try {
      await run(this.program, ['-o', data, target]);
    } catch (err) {
      // A program killed by the timeout may have mounted before it stalled.
      await unmountWith(native, target).catch(() => undefined);
      const detail = err instanceof Error ? err.message : String(err);
      throw Object.assign(
        new DriverError('ERR_MOUNT_PROGRAM', `mount target=${target} data=${data}: ${detail}`, target),
        { data },
      );
    }
  }

  /**
   * work/ID exists from the mount until the whiteouts are converted, and is
   * deleted last: while it is there, the conversion is still to do.
   */
  async afterUnmount({ upper, work }: UnmountedLayer): Promise<void> {
    if (!(await pathExists(work))) return;
    await native.convertOverlayWhiteouts(upper);
    await removeTreeIfExists(work);
  }
}

function run(program: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: MOUNT_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err === null) {
        resolve();
        return;
      }
      const said = stderr.trim();
      reject(new Error(said === '' ? `${program} failed: ${err.message}` : `${program} failed: ${said}`));
    });
  });
}
