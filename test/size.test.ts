// diffSize(): the bytes of a layer's own non-directories, each inode once,
// summed by threads that share the walk.
import { expect } from 'chai';
import { linkSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { Driver } from '../src';
import { programDriver, scratchDir } from './helpers/fixtures';
import { seededRandom } from './helpers/random';

/** What diffSize must answer, by lstat from JavaScript. */
function expectedSize(dir: string, seen = new Set<string>()): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const st = lstatSync(file);
    if (st.isDirectory()) {
      total += expectedSize(file, seen);
    } else if (st.nlink === 1 || !seen.has(`${st.dev}:${st.ino}`)) {
      seen.add(`${st.dev}:${st.ino}`);
      total += st.size;
    }
  }
  return total;
}

describe('Driver.diffSize', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let driver: Driver;
  beforeEach(async () => {
    scratch = scratchDir('aufs-size-');
    driver = await programDriver(path.join(scratch.dir, 'root'));
    await driver.create('layer');
  });
  afterEach(() => scratch.dispose());

  it('counts files and symlinks, and each hard-linked inode once across 200 directories', async () => {
    const layer = path.join(scratch.dir, 'root', 'diff', 'layer');
    const random = seededRandom(7);
    const files: string[] = [];
    for (let d = 0; d < 200; d++) {
      const dir = path.join(layer, `d${d}`, `sub${d % 7}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 5; f++) {
        const file = path.join(dir, `f${f}`);
        writeFileSync(file, Buffer.alloc(Math.floor(random() * 5000)));
        files.push(file);
      }
      symlinkSync('x'.repeat(d + 1), path.join(dir, 'link'));
      // Links to a file of a directory another thread may be walking.
      if (d > 0) linkSync(files[Math.floor(random() * files.length)], path.join(dir, 'hard'));
    }
    const expected = expectedSize(layer);
    expect(expected).to.be.greaterThan(0);
    for (let run = 0; run < 5; run++) expect(await driver.diffSize('layer')).to.equal(expected);
  });
});
