// statfs f_type values and the names Docker's graphdriver gave them.
import { AUFS_SUPER_MAGIC } from './aufsMounter';

export const BTRFS_SUPER_MAGIC = 0x9123683e;

const FS_NAMES = new Map<number, string>([
  [AUFS_SUPER_MAGIC, 'aufs'],
  [BTRFS_SUPER_MAGIC, 'btrfs'],
  [0x28cd3d45, 'cramfs'],
  [0xf15f, 'ecryptfs'],
  [0xef53, 'extfs'],
  [0xf2f52010, 'f2fs'],
  [0x65735546, 'fuse'],
  [0x47504653, 'gpfs'],
  [0x72b6, 'jffs2'],
  [0x3153464a, 'jfs'],
  [0x6969, 'nfs'],
  [0x794c7630, 'overlayfs'],
  [0x858458f6, 'ramfs'],
  [0x52654973, 'reiserfs'],
  [0x517b, 'smb'],
  [0x73717368, 'squashfs'],
  [0x01021994, 'tmpfs'],
  [0xa501fcf5, 'vxfs'],
  [0x58465342, 'xfs'],
  [0x2fc12fc1, 'zfs'],
]);

export function backingFsName(magic: number): string {
  return FS_NAMES.get(magic) ?? '<unknown>';
}

/** Filesystems aufs cannot keep its branches on. */
export const INCOMPATIBLE_BACKING_FS = new Set<number>([AUFS_SUPER_MAGIC, BTRFS_SUPER_MAGIC]);
