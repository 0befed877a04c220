// Images for the Docker tests: a root filesystem around Debian's static
// busybox, made into a tar for `docker import`, and the entries of the tars
// Docker gives back (save, export), read with tar-stream.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, lutimesSync, mkdirSync, readdirSync, lstatSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import { extract } from 'tar-stream';

export const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'cat', 'echo', 'rm', 'mkdir', 'ln', 'mkfifo', 'chmod', 'chown', 'touch', 'test', '[', 'stat', 'sleep', 'true', 'ls'];
/** Every file of the image has this mtime, so that a directory the container changed is told by its mtime. */
const IMAGE_TIME = new Date('2020-01-01T00:00:00Z');

/** One file of an image: content (a trailing '/' in its path makes a directory), mode and owner. */
export interface ImageFile {
  content?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

/**
 * Writes `files` and a busybox with its applets into `dir/rootfs`, and tars
 * it (GNU tar, numeric owners) into `dir/rootfs.tar`; returns the tar's path.
 * Fails with the reason when busybox is not installed (apt busybox-static).
 */
export function buildRootfsTar(dir: string, files: Record<string, ImageFile>): string {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
  const root = path.join(dir, 'rootfs');
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, path.join(root, 'bin', 'busybox'));
  for (const applet of APPLETS) symlinkSync('busybox', path.join(root, 'bin', applet));
  for (const [rel, file] of Object.entries(files)) {
    const target = path.join(root, rel);
    if (rel.endsWith('/')) {
      mkdirSync(target, { recursive: true });
    } else {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, file.content ?? '');
    }
    if (file.mode !== undefined) chmodSync(target, file.mode);
    if (file.uid !== undefined) chownSync(target, file.uid, file.gid ?? file.uid);
  }
  setTimes(root);
  const tar = path.join(dir, 'rootfs.tar');
  execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', tar, '.']);
  return tar;
}

function setTimes(dir: string): void {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (lstatSync(full).isDirectory()) setTimes(full);
    lutimesSync(full, IMAGE_TIME, IMAGE_TIME);
  }
  lutimesSync(dir, IMAGE_TIME, IMAGE_TIME);
}

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
