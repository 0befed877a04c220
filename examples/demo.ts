// A tour of the driver on a throwaway root: layers, a union mount, whiteouts.
// Uses kernel aufs when the kernel has it, fuse-overlayfs otherwise.
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { init, type Driver } from '../src';

const MOUNT_PROGRAM = '/usr/bin/fuse-overlayfs';

function kernelHasAufs(): boolean {
  return readFileSync('/proc/filesystems', 'utf8')
    .split('\n')
    .some((line) => line.endsWith('\taufs'));
}

function list(dir: string): string {
  return readdirSync(dir).sort().join(' ') || '(empty)';
}

async function tour(driver: Driver, root: string): Promise<void> {
  const diff = (id: string): string => path.join(root, 'diff', id);

  await driver.create('base');
  writeFileSync(path.join(diff('base'), 'hello.txt'), 'hello from base\n');
  writeFileSync(path.join(diff('base'), 'doomed.txt'), 'deleted by the child\n');
  console.log(`create base           diff/base: ${list(diff('base'))}`);

  await driver.create('child', 'base');
  console.log(`create child on base  layers/child: ${JSON.stringify(readFileSync(path.join(root, 'layers', 'child'), 'utf8'))}`);

  const mnt = await driver.get('child');
  console.log(`get child             ${mnt}: ${list(mnt)}`);
  writeFileSync(path.join(mnt, 'written-in-union.txt'), 'hello from the union\n');
  unlinkSync(path.join(mnt, 'doomed.txt'));
  console.log(`write + delete        ${mnt}: ${list(mnt)}`);

  await driver.put('child');
  console.log(`put child             diff/child: ${list(diff('child'))}  (aufs whiteout for doomed.txt)`);

  for (const [key, value] of await driver.status()) console.log(`status                ${key}: ${value}`);

  await driver.remove('child');
  await driver.remove('base');
  console.log(`remove child, base    layers/: ${list(path.join(root, 'layers'))}`);
}

async function main(): Promise<void> {
  const root = mkdtempSync('/tmp/aufs-graphdriver-demo-');
  const options = kernelHasAufs() ? [] : [`aufs.mount_program=${MOUNT_PROGRAM}`];
  console.log(`root ${root}, unions by ${options.length === 0 ? 'kernel aufs' : MOUNT_PROGRAM}`);
  const driver = await init(root, options);
  try {
    await tour(driver, root);
  } finally {
    await driver.cleanup();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
