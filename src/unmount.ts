// Unmounting a union. We unmount for real (no MNT_DETACH): a lazy detach would
// hide a busy mount and let it keep writing into diff/ID after put() or
// remove() returned. Busy mounts are retried, then reported as EBUSY.
import { setTimeout as delay } from 'node:timers/promises';

import { invalidArgType, isErrorCode } from './errors';
import { native, type NativeBinding } from './native';

const EBUSY_RETRIES = 5;
const EBUSY_RETRY_DELAY_MS = 100;

export type UnmountSyscall = Pick<NativeBinding, 'umount2'>;

/** unmount() through the given syscall, so tests can record the calls. */
export async function unmountWith(sys: UnmountSyscall, target: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      // NOFOLLOW: a symlink planted at the mount point must not redirect us.
      await sys.umount2(target, native.constants.UMOUNT_NOFOLLOW);
      return;
    } catch (err) {
      // EINVAL: not a mount point; ENOENT: no such path. Nothing to undo.
      if (isErrorCode(err, 'EINVAL', 'ENOENT')) return;
      if (!isErrorCode(err, 'EBUSY') || attempt >= EBUSY_RETRIES) throw err;
      await delay(EBUSY_RETRY_DELAY_MS);
    }
  }
}

/**
 * Unmounts what is mounted at `target` if it is a mount of type `magic`, in
 * one trip to the addon unless it is busy (then retried as unmount() does).
 */
export async function unmountIfMounted(target: string, magic: number): Promise<void> {
  try {
    await native.unmountIfType(target, magic, native.constants.UMOUNT_NOFOLLOW);
  } catch (err) {
    if (!isErrorCode(err, 'EBUSY')) throw err;
    await unmountWith(native, target);
  }
}

/**
 * Unmounts the union at `target`. Not mounted is not an error; a mount that
 * stays busy through the retries rejects with code EBUSY and stays mounted.
 */
export async function unmount(target: string): Promise<void> {
  if (typeof target !== 'string') throw invalidArgType('target', 'a string', target);
  await unmountWith(native, target);
}
