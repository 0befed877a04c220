// The image layer of the crash tests: a 50 MB tar with every kind of entry a
// layer holds (hundreds of small files, two big ones, links, whiteouts), so
// that a kill during applyDiff can land in any part of an extraction.
import { once } from 'node:events';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';

import { pack, type Pack } from 'tar-stream';

import { seededRandom } from '../../helpers/random';

type TarHeaders = Parameters<Pack['entry']>[0];

const MIB = 1 << 20;
const SMALL_DIRS = 20;
const SMALL_PER_DIR = 20;
const BIG_FILES = 2;
const BIG_MIB = 23;
const MTIME = new Date('2020-01-02T03:04:05Z');

/** The file of the tar that containers on top of it delete (see crashWorkload.ts). */
export const DELETABLE_FILE = 'small/d00/f000';

function smallFile(random: () => number, size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = Math.floor(random() * 256);
  return data;
}

async function addEntry(tar: Pack, header: TarHeaders, data?: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    tar.entry({ mtime: MTIME, uid: 0, gid: 0, ...header }, data ?? '', (err) => (err ? reject(err) : resolve()));
  });
}

/** A big file from a ring of random blocks, each MiB stamped with its index: no two MiBs alike. */
async function addBigFile(tar: Pack, name: string, random: () => number, index: number): Promise<void> {
  const block = smallFile(random, MIB);
  const entry = tar.entry({ name, size: BIG_MIB * MIB, mtime: MTIME, mode: 0o644 });
  const done = once(entry, 'finish');
  for (let i = 0; i < BIG_MIB; i++) {
    const chunk = Buffer.from(block);
    chunk.writeUInt32LE(index * BIG_MIB + i, 0);
    if (!entry.write(chunk)) await once(entry, 'drain');
  }
  entry.end(undefined);
  await done;
}

async function fill(tar: Pack, seed: number): Promise<void> {
  const random = seededRandom(seed);
  for (const dir of ['etc', 'run', 'small', 'usr', 'usr/lib']) await addEntry(tar, { name: dir, type: 'directory', mode: 0o755 });
  await addEntry(tar, { name: 'etc/.wh..wh..opq', mode: 0o444 });
  await addEntry(tar, { name: '.wh.gone', mode: 0o444 });
  await addEntry(tar, { name: 'etc/hostname', mode: 0o644 }, Buffer.from('crash-test\n'));
  await addEntry(tar, { name: 'etc/passwd-link', type: 'symlink', linkname: '/etc/passwd' });
  await addEntry(tar, { name: 'run/fifo', type: 'fifo', mode: 0o600 });
  for (let d = 0; d < SMALL_DIRS; d++) {
    const dir = `small/d${String(d).padStart(2, '0')}`;
    await addEntry(tar, { name: dir, type: 'directory', mode: 0o750, uid: 1000, gid: 1000 });
    for (let f = 0; f < SMALL_PER_DIR; f++) {
      const name = `${dir}/f${String(f).padStart(3, '0')}`;
      await addEntry(tar, { name, mode: 0o640, uid: 1000, gid: 100 }, smallFile(random, 1 + Math.floor(random() * 16384)));
    }
  }
  for (let b = 0; b < BIG_FILES; b++) await addBigFile(tar, `usr/lib/big${b}`, random, b);
  await addEntry(tar, { name: 'usr/lib/big0-hardlink', type: 'link', linkname: 'usr/lib/big0' });
  await addEntry(tar, { name: 'usr/lib/big-symlink', type: 'symlink', linkname: 'big1' });
  tar.finalize();
}

/** Writes the layer tar, the same for the same seed, to `file`. */
export async function writeLayerTar(file: string, seed: number): Promise<void> {
  const tar = pack();
  await Promise.all([pipeline(tar as AsyncIterable<Uint8Array>, fs.createWriteStream(file)), fill(tar, seed)]);
}
