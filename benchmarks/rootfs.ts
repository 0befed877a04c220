// The real root filesystem workload: `debootstrap --variant=minbase bookworm`
// as the layer `bookworm` of a driver root, fetched once and kept.
import { execFile } from 'node:child_process';
import { rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import type { Driver } from '../src';
import { workload, type Workload } from './workloads';

const execFileAsync = promisify(execFile);

const SUITE = 'bookworm';
export const ROOTFS_ID = SUITE;

/** The rootfs workload, or why there is none (no debootstrap, no network). */
export async function rootfsWorkload(workDir: string, log: (line: string) => void): Promise<Workload | string> {
  try {
    // No mirror named: debootstrap picks its own default.
    const params = { debootstrap: ['--variant=minbase', SUITE] };
    return await workload(workDir, { name: 'rootfs', label: `debootstrap ${params.debootstrap.join(' ')}`, id: ROOTFS_ID, params, generate: fetch, tar: true }, log);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).syscall === 'spawn debootstrap') return 'debootstrap is not installed (apt-get install debootstrap)';
    const message = err instanceof Error ? err.message : String(err);
    return `debootstrap of ${SUITE} failed: ${message.trim().split('\n').slice(-3).join(' / ')}`;
  }
}

async function fetch(driver: Driver): Promise<void> {
  await driver.create(ROOTFS_ID);
  const layer = path.join(driver.root, 'diff', ROOTFS_ID);
  // Into a directory of its own, so that a failed fetch leaves no half layer.
  const partial = path.join(driver.root, 'partial');
  await rm(partial, { recursive: true, force: true });
  await execFileAsync('debootstrap', ['--variant=minbase', SUITE, partial], { maxBuffer: 1 << 26 });
  await rmdir(layer);
  await rename(partial, layer);
}
