// One owner per root: a Driver holds an exclusive flock(2) on ROOT/.lock from
// init() until close() (native/root_lock.h). Two owners would each count
// their own mounts and unmount or delete what the other still uses.
import { close } from 'node:fs';
import path from 'node:path';

import { ErrRootLocked } from './errors';
import { native } from './native';

export const LOCK_FILE = '.lock';

/** The lock a Driver holds on its root. */
export class RootLock {
  #fd: number;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * Locks `root` for this process, or rejects at once with ERR_ROOT_LOCKED
   * naming the holder. `owner` (one line) is what other processes are told
   * holds the root.
   */
  static async take(root: string, owner: string): Promise<RootLock> {
    const file = path.join(root, LOCK_FILE);
    const { fd, holderPid, holderOwner } = await native.lockRoot(file, owner);
    if (fd < 0) throw new ErrRootLocked(root, file, holderPid, holderOwner);
    return new RootLock(fd);
  }

  /** Lets the root go; later calls do nothing. */
  async release(): Promise<void> {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    await new Promise<void>((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
  }
}
