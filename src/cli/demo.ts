// A tour of the driver on a throwaway root: layers, a union mount, whiteouts.
// Shared by `aufs-graphdriver demo` and examples/demo.ts.
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { formatChange, type Driver } from '../index';
import { openDriver } from './openDriver';

export type Log = (line: string) => void;

function list(dir: string): string {
  return readdirSync(dir).sort().join(' ') || '(empty)';
}

async function tour(driver: Driver, log: Log): Promise<void> {
  const diff = (id: string): string => path.join(driver.root, 'diff', id);

  await driver.create('base');
  writeFileSync(path.join(diff('base'), 'hello.txt'), 'hello from base\n');
  writeFileSync(path.join(diff('base'), 'doomed.txt'), 'deleted by the child\n');
  log(`create base           diff/base: ${list(diff('base'))}`);

  await driver.create('child', 'base');
  log(`create child on base  layers/child: ${JSON.stringify(readFileSync(path.join(driver.root, 'layers', 'child'), 'utf8'))}`);

  const mnt = await driver.get('child');
  log(`get child             ${mnt}: ${list(mnt)}`);
  writeFileSync(path.join(mnt, 'written-in-union.txt'), 'hello from the union\n');
  unlinkSync(path.join(mnt, 'doomed.txt'));
  log(`write + delete        ${mnt}: ${list(mnt)}`);

  await driver.put('child');
  log(`put child             diff/child: ${list(diff('child'))}  (aufs whiteout for doomed.txt)`);

  const changes = (await driver.changes('child')).map(formatChange).join(', ');
  log(`changes child         ${changes}`);

  // The child's tar, applied as a new layer on base: the same files, the same changes.
  await driver.create('copy', 'base');
  const size = await driver.applyDiff('copy', 'base', await driver.diff('child'));
  log(`diff child | apply    diff/copy: ${list(diff('copy'))}  (${size} bytes, diffSize ${await driver.diffSize('copy')})`);

  for (const [key, value] of await driver.status()) log(`status                ${key}: ${value}`);

  await driver.remove('copy');
  await driver.remove('child');
  await driver.remove('base');
  log(`remove all            layers/: ${list(path.join(driver.root, 'layers'))}`);
}

/**
 * Runs the tour on a fresh root under /tmp, deleted afterwards. `options`
 * are init()'s; without a mount program, kernel aufs or fuse-overlayfs.
 */
export async function runDemo(options: readonly string[], log: Log): Promise<void> {
  const root = mkdtempSync('/tmp/aufs-graphdriver-demo-');
  try {
    const { driver, unionsBy } = await openDriver(root, options);
    log(`root ${root}, unions by ${unionsBy}`);
    try {
      await tour(driver, log);
    } finally {
      await driver.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
