// Shared fixtures: throwaway roots, drivers on the mount program, and views
// of what is mounted and what is on disk.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { init, type Driver } from '../../src';

export const MOUNT_PROGRAM = '/usr/bin/fuse-overlayfs';
export const PROGRAM_OPTIONS = [`aufs.mount_program=${MOUNT_PROGRAM}`];

/** A fresh directory under /tmp, removed (after unmounting what is below it) by the returned cleanup. */
export function scratchDir(prefix = 'aufs-test-'): { dir: string; dispose: () => void } {
  const dir = mkdtempSync(path.join('/tmp', prefix));
  return {
    dir,
    dispose: () => {
      for (const target of mountsUnder(dir).reverse()) execFileSync('umount', ['-l', target]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A driver on a fresh root that mounts through fuse-overlayfs. */
export async function programDriver(root: string): Promise<Driver> {
  return init(root, PROGRAM_OPTIONS);
}

/** Mount points at or below `dir`, from /proc/self/mountinfo. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => unescapeMountPath(line.split(' ')[4]))
    .filter((target) => target === dir || target.startsWith(`${dir}/`));
}

function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Writes files into a directory: keys are relative paths, a trailing '/' makes a directory. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const target = path.join(root, rel);
    if (rel.endsWith('/')) {
      mkdirSync(target, { recursive: true });
    } else {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
  }
}

/** A Docker < 0.7 root: two images (child on base), one container on the child. */
export function buildLegacyRoot(legacy: string): void {
  writeTree(legacy, {
    repositories: '{"Repositories":{}}',
    'graph/base/json': JSON.stringify({ id: 'base', comment: 'the base' }),
    'graph/base/layer/etc/hostname': 'base',
    'graph/base/layer/bin/sh': 'sh',
    'graph/child/json': JSON.stringify({ id: 'child', parent: 'base' }),
    'graph/child/layer/etc/.wh.hostname': '',
    'graph/child/layer/app': 'app',
    'graph/_tmp/': '',
    'containers/c1/config.json': JSON.stringify({ ID: 'c1', Image: 'child' }),
    'containers/c1/rw/app': 'changed by c1',
    'containers/c1/rw/tmp/log': 'log',
    'containers/stopped-without-rw/config.json': JSON.stringify({ Image: 'child' }),
  });
}

/**
 * Every path below `root` with what it is: "dir", "file:<content>",
 * "link:<target>", "chr:<major>:<minor>", or "other", sorted.
 */
export function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const full = path.join(root, child);
      const st = lstatSync(full);
      if (st.isDirectory()) {
        out[`${child}/`] = 'dir';
        visit(child);
      } else if (st.isFile()) {
        out[child] = `file:${readFileSync(full, 'utf8')}`;
      } else if (st.isSymbolicLink()) {
        out[child] = `link:${readlinkSync(full)}`;
      } else if (st.isCharacterDevice()) {
        out[child] = `chr:${Math.floor(st.rdev / 256)}:${st.rdev % 256}`;
      } else {
        out[child] = 'other';
      }
    }
  };
  visit('');
  return out;
}

/** xattr names on `file` (without following symlinks). */
export function listXattrs(file: string): string[] {
  const out = execFileSync('python3', ['-c', 'import os,sys; print("\\n".join(os.listxattr(sys.argv[1], follow_symlinks=False)))', file], {
    encoding: 'utf8',
  });
  return out.split('\n').filter((line) => line !== '');
}

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; path?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error & { code?: string; path?: string }) => err,
  );
}
