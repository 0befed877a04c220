// Kernel aufs: mount(2) called directly with aufs's branch option strings.
import { mkdtemp, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { Mutex } from './locks';
import { planAufsMount } from './mountOptions';
import { native, type NativeBinding } from './native';
import type { UnionMounter, UnionMountRequest, UnmountedLayer } from './mounter';
import { unmountWith } from './unmount';

export const AUFS_SUPER_MAGIC = 0x61756673;

export type MountSyscalls = Pick<NativeBinding, 'mount' | 'umount2'>;

// aufs keeps one xino file for every mount; parallel mount(2) calls race on
// it in the kernel, so every aufs mount of this process goes one at a time.
const aufsMountLock = new Mutex();

export class AufsMounter implements UnionMounter {
  readonly description = 'aufs';
  readonly magic = AUFS_SUPER_MAGIC;
  readonly needsWorkDir = false;
  readonly dirperm1: boolean;
  readonly #sys: MountSyscalls;
  readonly #pageSize: number;

  constructor(options: { dirperm1: boolean; syscalls?: MountSyscalls; pageSize?: number }) {
    this.dirperm1 = options.dirperm1;
    this.#sys = options.syscalls ?? native;
    this.#pageSize = options.pageSize ?? native.constants.PAGE_SIZE;
  }

  async mount({ target, upper, lowers, label }: UnionMountRequest): Promise<void> {
    const calls = planAufsMount(upper, lowers, { pageSize: this.#pageSize, dirperm1: this.dirperm1, label });
    let mounted = false;
    try {
      for (const { flags, data } of calls) {
        await aufsMountLock.run(() => this.#sys.mount('none', target, 'aufs', flags, data)).catch((err: unknown) => {
          throw describeMountFailure(err, target, data);
        });
        mounted = true;
      }
    } catch (err) {
      if (mounted) await unmountWith(this.#sys, target).catch(() => undefined);
      throw err;
    }
  }

  async afterUnmount(_layer: UnmountedLayer): Promise<void> {
    // Kernel aufs writes its whiteouts in aufs form already.
  }
}

/** Prefixes a mount(2) failure with the call, as Docker reported it. */
function describeMountFailure(err: unknown, target: string, data: string): unknown {
  if (err instanceof Error) {
    err.message = `mount target=${target} data=${data}: ${err.message}`;
    Object.assign(err, { data });
  }
  return err;
}

let dirperm1Probe: Promise<boolean> | undefined;

/** Whether kernel aufs accepts `dirperm1`: tried once per process on a throwaway mount. */
export function probeDirperm1(): Promise<boolean> {
  dirperm1Probe ??= (async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'aufs-graphdriver-base-'));
    const union = await mkdtemp(path.join(os.tmpdir(), 'aufs-graphdriver-union-'));
    try {
      await aufsMountLock.run(() =>
        native.mount('none', union, 'aufs', 0, `br:${base},dirperm1,xino=/dev/shm/aufs.xino`),
      );
    } catch {
      return false;
    } finally {
      await unmountWith(native, union).catch(() => undefined);
      await Promise.all([rmdir(union), rmdir(base)]).catch(() => undefined);
    }
    return true;
  })();
  return dirperm1Probe;
}
