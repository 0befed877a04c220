// What Docker's daemon put into a container's -init layer (setupInitLayer),
// the setupInit that `aufs-graphdriver migrate` hands to Driver.migrate():
// mount points for what the daemon bind-mounted into every container.
import { lstat, mkdir, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { isErrorCode } from '../errors';

type InitEntry = { kind: 'dir' } | { kind: 'file' } | { kind: 'symlink'; target: string };

const INIT_ENTRIES: ReadonlyArray<readonly [string, InitEntry]> = [
  ['dev/pts', { kind: 'dir' }],
  ['dev/shm', { kind: 'dir' }],
  ['proc', { kind: 'dir' }],
  ['sys', { kind: 'dir' }],
  ['.dockerinit', { kind: 'file' }],
  ['.dockerenv', { kind: 'file' }],
  ['etc/resolv.conf', { kind: 'file' }],
  ['etc/hosts', { kind: 'file' }],
  ['etc/hostname', { kind: 'file' }],
  ['dev/console', { kind: 'file' }],
  ['etc/mtab', { kind: 'symlink', target: '/proc/mounts' }],
];

const MODE = 0o755;

/**
 * Fills `initPath`, the mounted -init layer of a container on its image, as
 * Docker did: every non-directory along each path is deleted first (the
 * image's /etc/hosts becomes an empty mount point, a symlinked /etc/mtab is
 * replaced), then whatever is missing is made.
 */
export async function setupInitLayer(initPath: string): Promise<void> {
  for (const [rel, entry] of INIT_ENTRIES) {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) await unlinkNonDirectory(path.join(initPath, ...parts.slice(0, i)));
    const target = path.join(initPath, rel);
    if (await exists(target)) continue;
    await mkdir(path.dirname(target), { recursive: true, mode: MODE });
    if (entry.kind === 'dir') await mkdir(target, { mode: MODE });
    else if (entry.kind === 'file') await writeFile(target, '', { mode: MODE, flag: 'wx' });
    else await symlink(entry.target, target);
  }
}

async function unlinkNonDirectory(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    // A directory stays (EISDIR); nothing there is fine.
    if (!isErrorCode(err, 'EISDIR', 'ENOENT', 'ENOTDIR')) throw err;
  }
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    (err: unknown) => {
      if (isErrorCode(err, 'ENOENT')) return false;
      throw err;
    },
  );
}
