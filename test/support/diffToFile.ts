// Writes diff() of layer ID of the driver root ROOT to the file OUT: for
// tests that need a process of its own (one in a mount namespace that shows
// other user and group databases).
//   node --import tsx test/support/diffToFile.ts ROOT ID OUT
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

import { init } from '../../src';

async function main(): Promise<void> {
  const [root, id, out] = process.argv.slice(2);
  // Read-only: the test that started this process owns the root.
  const driver = await init(root, ['aufs.mount_program=/usr/bin/fuse-overlayfs'], { readOnly: true });
  await pipeline(await driver.diff(id), createWriteStream(out));
}

void main();
