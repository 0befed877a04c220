// The real root filesystem workload: `debootstrap --variant=minbase bookworm`
// as the layer `bookworm` of a driver root, fetched once and kept.
import { execFile } from 'node:child_process';
import { rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { init } from '../src';
import { PROGRAM_OPTIONS } from '../test/helpers/fixtures';
import { workload, type Workload } from './workloads';

const execFileAsync = promisify(execFile);

const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';
export const ROOTFS_ID = SUITE;

/** The rootfs workload, or why there is none (no debootstrap, no mirror). */
export async function rootfsWorkload(workDir: string, log: (line: string) => void): Promise<Workload | string> {
  try {
    const params = { debootstrap: ['--variant=minbase', SUITE, MIRROR] };
    return await workload(workDir, { name: 'rootfs', label: `debootstrap ${params.debootstrap.join(' ')}`, id: ROOTFS_ID, params, generate: fetch, tar: true }, log);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).syscall === 'spawn debootstrap') return 'debootstrap is not installed (apt-get install debootstrap)';
    const message = err instanceof Error ? err.message : String(err);
    return `debootstrap of ${SUITE} failed: ${message.trim().split('\n').slice(-3).join(' / ')}`;
  }
}

async function fetch(root: string): Promise<void> {
  const driver = await init(root, PROGRAM_OPTIONS);
  await driver.create(ROOTFS_ID);
  const layer = path.join(root, 'diff', ROOTFS_ID);
  // Into a directory of its own, so that a failed fetch leaves no half layer.
  const partial = path.join(root, 'partial');
  await rm(partial, { recursive: true, force: true });
  await execFileAsync('debootstrap', ['--variant=minbase', SUITE, partial, MIRROR], { maxBuffer: 1 << 26 });
  await rmdir(layer);
  await rename(partial, layer);
}
