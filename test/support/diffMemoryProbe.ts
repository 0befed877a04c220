// Run as its own process by the memory test: archives a layer through a tar
// parser that hashes every file, then prints the hashes and the process's peak
// resident set (VmHWM), which no earlier test has inflated.
//   node --import tsx diffMemoryProbe.ts ROOT ID
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

import { extract } from 'tar-stream';

import { init } from '../../src/index';

async function main(): Promise<void> {
  const [root, id] = process.argv.slice(2);
  // Read-only: the test that started this process owns the root.
  const d = await init(root, ['aufs.mount_program=/usr/bin/fuse-overlayfs'], { readOnly: true });
  const hashes: Record<string, string> = {};
  const extractor = extract();
  extractor.on('entry', (header, entry, next) => {
    const hash = createHash('sha256');
    entry.on('data', (chunk: unknown) => hash.update(chunk as Buffer));
    entry.on('end', () => {
      hashes[header.name] = hash.digest('hex');
      next();
    });
  });
  (await d.diff(id)).pipe(extractor as unknown as NodeJS.WritableStream);
  await once(extractor, 'finish');
  const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
  process.stdout.write(JSON.stringify({ peak, hashes }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
