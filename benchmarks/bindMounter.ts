// The kernel-aufs path of get()/put() on a machine without aufs: the Driver
// mounts through the same native mount(2)/umount2(2) code, but a bind mount
// of the layer's own directory stands in for the union.
import { native } from '../src/native';
import type { UnionMounter, UnionMountRequest } from '../src/mounter';

export class BindMounter implements UnionMounter {
  readonly description = 'bind mount (benchmark stand-in for kernel aufs)';
  readonly dirperm1 = false;
  readonly needsWorkDir = false;
  /**
   * statfs type of the layer's directory. The driver only counts a mount
   * whose root is on another device than its parent directory, so the
   * benchmark keeps the bound directory on a filesystem of its own.
   */
  readonly magic: number;

  constructor(magic: number) {
    this.magic = magic;
  }

  async mount({ target, upper }: UnionMountRequest): Promise<void> {
    await native.mount(upper, target, '', native.constants.MS_BIND, '');
  }

  async afterUnmount(): Promise<void> {
    // A bind mount writes nothing that needs tidying.
  }
}
