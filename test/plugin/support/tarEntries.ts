// The entries of the tars Docker gives back (save, export), read with
// tar-stream, for the Docker tests to compare.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import { extract } from 'tar-stream';

/** One entry of a tar, as the comparisons look at it (mtime left out: each Docker writes its own). */
export interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string;
  /** sha256 of the data, for files. */
  data: string;
}

/** The entries of `tar`, in order; names without a leading "./". */
export async function tarEntries(tar: Buffer): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const reader = extract();
  const done = new Promise<void>((resolve, reject) => {
    reader.on('entry', (header, stream, next) => {
      const hash = createHash('sha256');
      stream.on('data', (chunk: unknown) => {
        hash.update(chunk as Buffer);
      });
      stream.on('end', () => {
        entries.push({
          name: header.name.replace(/^\.\//, ''),
          type: header.type ?? 'file',
          // Docker's tars (Go's archive/tar) carry the file type bits in the mode too.
          mode: (header.mode ?? 0) & 0o7777,
          uid: header.uid ?? 0,
          gid: header.gid ?? 0,
          size: header.size ?? 0,
          linkname: header.linkname ?? '',
          data: header.type === 'file' ? hash.digest('hex') : '',
        });
        next();
      });
      stream.resume();
    });
    reader.on('finish', resolve);
    reader.on('error', reject);
  });
  Readable.from([tar]).pipe(reader);
  await done;
  return entries;
}

/** The member `name` of a tar (docker save's layer.tar files), as bytes. */
export function tarMember(tar: string, name: string): Buffer {
  return execFileSync('tar', ['-xOf', tar, name], { maxBuffer: 1 << 30 });
}

/**
 * The entries with every hard link replaced by the entry it links to, under
 * its own name: what a tar holds, whether or not its writer saw the link.
 */
export function resolveHardLinks(entries: readonly TarEntry[]): TarEntry[] {
  const byName = new Map(entries.map((e) => [e.name, e]));
  return entries.map((e) => (e.type === 'link' ? { ...byName.get(e.linkname)!, name: e.name } : e));
}

/** One line per entry: "type name", " -> target" for links. */
export function describeEntries(entries: readonly TarEntry[]): string[] {
  return entries.map((e) => `${e.type} ${e.name}${e.linkname === '' ? '' : ` -> ${e.linkname}`}`);
}
