// A root filesystem around Debian's static busybox (apt busybox-static),
// made into a tar for `docker import`: for the Docker tests and benchmarks.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, lutimesSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

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
