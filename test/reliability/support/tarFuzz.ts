// Inputs for fuzzing the tar reader and extractor: a few well-formed seed
// archives with every kind of entry and header extension, and seeded
// mutations of them that keep header checksums valid, so that the damage
// reaches past the first checksum test into the fields behind it.
import { gzipSync } from 'node:zlib';

import { pythonTar, type TarSpecEntry } from '../../tarSupport';

const BLOCK = 512;
const CHECKSUM_OFFSET = 148;
const CHECKSUM_SIZE = 8;

const ENTRIES: TarSpecEntry[] = [
  { name: 'dir', type: 'dir', mode: 0o750, uid: 1000, gid: 1000 },
  { name: 'dir/file', data: 'hello\n', mode: 0o640 },
  { name: 'dir/.wh.gone', data: '' },
  { name: 'dir/.wh..wh..opq', data: '' },
  { name: 'dir/hard', type: 'link', linkname: 'dir/file' },
  { name: 'dir/sym', type: 'symlink', linkname: '../etc/passwd' },
  { name: 'dir/abs', type: 'symlink', linkname: '/etc/shadow' },
  { name: 'dir/fifo', type: 'fifo' },
  { name: 'dir/null', type: 'chr', devmajor: 1, devminor: 3 },
  { name: 'deep/a/b/c/d/e', data: 'x'.repeat(1500) },
  { name: `long/${'n'.repeat(150)}/${'m'.repeat(120)}`, data: 'long name' },
  { name: 'linked-long', type: 'symlink', linkname: 'l'.repeat(200) },
  { name: 'xattrs', data: 'x', xattrs: { 'user.test': '00ff10', 'trusted.test': '01' } },
  { name: 'paxed', data: 'p', pax: { mtime: '1600000000.123456789', uid: '4294967294', path: 'renamed-by-pax' } },
];

/** Well-formed archives to mutate: each format, and gzip. */
export function seedTars(): Buffer[] {
  const pax = pythonTar(ENTRIES, 'pax');
  const plain = ENTRIES.filter((e) => e.xattrs === undefined && e.pax === undefined);
  return [
    pax,
    pythonTar(plain, 'gnu'),
    pythonTar(plain.filter((e) => e.name.length < 100 && (e.linkname ?? '').length < 100), 'ustar'),
    pythonTar([{ name: 'big', data_hex: '5a'.repeat(20_000) }, { name: 'after', data: 'a' }], 'pax'),
    gzipSync(pax),
  ];
}

/** Recomputes the checksum of every block of `tar` that already looks like a header. */
function fixChecksums(tar: Buffer): void {
  for (let at = 0; at + BLOCK <= tar.length; at += BLOCK) {
    const magic = tar.toString('latin1', at + 257, at + 262);
    if (magic !== 'ustar') continue;
    tar.fill(0x20, at + CHECKSUM_OFFSET, at + CHECKSUM_OFFSET + CHECKSUM_SIZE);
    let sum = 0;
    for (let i = at; i < at + BLOCK; i++) sum += tar[i];
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + CHECKSUM_OFFSET, 'latin1');
  }
}

const INTERESTING = ['0', '7', '777777777777', '\0', ' ', '/', '..', '../', 'x'.repeat(12), '99999999999', '-1'];

type Random = () => number;

function randomBytes(random: Random, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** One mutation of `input`, in place where it can be. */
function mutateOnce(input: Buffer, random: Random, seeds: readonly Buffer[]): Buffer {
  const at = (limit: number): number => Math.floor(random() * Math.max(1, limit));
  switch (at(7)) {
    case 0: // flip bits
      for (let n = 1 + at(8); n > 0 && input.length > 0; n--) input[at(input.length)] ^= 1 << at(8);
      return input;
    case 1: {
      // overwrite a header field (name, mode, size, type, linkname, prefix...) with something interesting
      const header = at(input.length / BLOCK) * BLOCK;
      const field = [0, 100, 108, 116, 124, 136, 156, 157, 257, 263, 329, 337, 345][at(13)];
      const text = INTERESTING[at(INTERESTING.length)];
      input.write(text, Math.min(header + field, Math.max(0, input.length - text.length)), 'latin1');
      return input;
    }
    case 2: // cut short
      return input.subarray(0, at(input.length + 1));
    case 3: {
      // repeat or drop a block
      const block = at(input.length / BLOCK) * BLOCK;
      const piece = input.subarray(block, block + BLOCK);
      return random() < 0.5
        ? Buffer.concat([input.subarray(0, block), piece, input.subarray(block)])
        : Buffer.concat([input.subarray(0, block), input.subarray(block + BLOCK)]);
    }
    case 4: {
      // splice another seed in at a block boundary
      const other = seeds[at(seeds.length)];
      const cut = at(input.length / BLOCK) * BLOCK;
      return Buffer.concat([input.subarray(0, cut), other.subarray(at(other.length / BLOCK) * BLOCK)]);
    }
    case 5: // random bytes in the middle
      return Buffer.concat([input.subarray(0, at(input.length)), randomBytes(random, 1 + at(600)), input.subarray(at(input.length))]);
    default: // a pax record with a random key and value
      return Buffer.concat([paxRecordHeader(random), input]);
  }
}

/** A pax extended header with one random record, checksum valid. */
function paxRecordHeader(random: Random): Buffer {
  const keys = ['path', 'linkpath', 'size', 'uid', 'mtime', 'SCHILY.xattr.user.a', 'GNU.sparse.size', 'x'];
  const value = random() < 0.5 ? INTERESTING[Math.floor(random() * INTERESTING.length)] : randomBytes(random, 20).toString('latin1');
  const body = `${keys[Math.floor(random() * keys.length)]}=${value}\n`;
  // The length field counts its own digits.
  let length = body.length + 2;
  while (String(length).length + 1 + body.length !== length) length = String(length).length + 1 + body.length;
  const record = `${length} ${body}`;
  const header = Buffer.alloc(BLOCK);
  header.write('PaxHeader', 0, 'latin1');
  header.write('0000644\0', 100, 'latin1');
  header.write(`${record.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write('x', 156, 'latin1');
  header.write('ustar\x0000', 257, 'latin1');
  const data = Buffer.alloc(Math.ceil(record.length / BLOCK) * BLOCK);
  data.write(record, 'latin1');
  const out = Buffer.concat([header, data]);
  fixChecksums(out);
  return out;
}

/**
 * The next input of a seeded run: random bytes now and then, else a
 * seed mutated one to four times, its header checksums made right again,
 * sometimes gzipped.
 */
export function fuzzInput(random: Random, seeds: readonly Buffer[]): Buffer {
  if (random() < 0.1) return randomBytes(random, Math.floor(random() * 4096));
  let input = Buffer.from(seeds[Math.floor(random() * seeds.length)]);
  for (let n = 1 + Math.floor(random() * 4); n > 0; n--) input = Buffer.from(mutateOnce(input, random, seeds));
  if (random() < 0.9) fixChecksums(input);
  return random() < 0.1 ? gzipSync(input) : input;
}
