// Shared by the applyDiff tests: drivers in throwaway roots, tars made by
// GNU tar and by Python's tarfile, and snapshots of trees to compare.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import { expect } from 'chai';

import { init } from '../src/index';
import type { Driver } from '../src/driver';

const FIXTURES = path.join(__dirname, 'fixtures');

export interface TestRoot {
  /** A fresh directory holding the driver's root and whatever a test puts beside it. */
  tmp: string;
  root: string;
  driver: Driver;
}

export async function newTestRoot(): Promise<TestRoot> {
  const tmp = fs.mkdtempSync('/tmp/aufs-test-');
  const root = path.join(tmp, 'root');
  const driver = await init(root, ['aufs.mount_program=/usr/bin/fuse-overlayfs']);
  return { tmp, root, driver };
}

export function removeTestRoot(t: TestRoot | undefined): void {
  if (t !== undefined) fs.rmSync(t.tmp, { recursive: true, force: true });
}

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'link' | 'chr' | 'blk' | 'fifo';

/** One member for test/fixtures/maketar.py. */
export interface TarSpecEntry {
  name: string;
  type?: TarEntryType;
  data?: string;
  data_hex?: string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
  /** name → value in hex */
  xattrs?: Record<string, string>;
}

/** A tar built by Python's tarfile, which writes whatever names it is given. */
export function pythonTar(entries: TarSpecEntry[], format: 'pax' | 'gnu' | 'ustar' = 'pax'): Buffer {
  return execFileSync('python3', [path.join(FIXTURES, 'maketar.py')], {
    input: JSON.stringify({ format, entries }),
    maxBuffer: 1 << 30,
  });
}

/** A tar of `dir`'s contents made by GNU tar. */
export function gnuTar(dir: string, args: string[]): Buffer {
  return execFileSync('tar', ['-C', dir, ...args, '-cf', '-', '.'], { maxBuffer: 1 << 30 });
}

export interface SnapshotEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime_ns: string;
  ino: number;
  nlink: number;
  size?: number;
  sha256?: string;
  link?: string;
  rdev?: [number, number];
  xattrs: Record<string, string>;
}

/** Everything below `dir` (see test/fixtures/snapshot.py), by relative path. */
export function snapshot(dir: string): Record<string, SnapshotEntry> {
  const out = execFileSync('python3', [path.join(FIXTURES, 'snapshot.py'), dir], { maxBuffer: 1 << 28 });
  return JSON.parse(out.toString()) as Record<string, SnapshotEntry>;
}

/** `data` as a byte stream in chunks of `chunkSize`, the way a socket delivers it. */
export function streamOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < data.length; offset += chunkSize) yield data.subarray(offset, offset + chunkSize);
    })(),
    { objectMode: false },
  );
}

export function diffDir(t: TestRoot, id: string): string {
  return path.join(t.root, 'diff', id);
}

/** A tar of `dir`'s contents made by Python's tarfile (which stores no xattrs). */
export function pythonTarOfTree(dir: string, format: 'pax' | 'gnu'): Buffer {
  const script = [
    'import os, sys, tarfile',
    'fmt = {"pax": tarfile.PAX_FORMAT, "gnu": tarfile.GNU_FORMAT}[sys.argv[2]]',
    'with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=fmt) as tar:',
    '    for name in sorted(os.listdir(sys.argv[1])):',
    '        tar.add(os.path.join(sys.argv[1], name), arcname=name)',
  ].join('\n');
  return execFileSync('python3', ['-c', script, dir, format], { maxBuffer: 1 << 30 });
}

/** Builds the tree of test/fixtures/maketree.py in the new directory `dir`. */
export function makeTree(dir: string): void {
  fs.mkdirSync(dir);
  execFileSync('python3', [path.join(FIXTURES, 'maketree.py'), dir]);
}

export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

export async function expectRejection(promise: Promise<unknown>, code: string): Promise<Error> {
  const err = await rejection(promise);
  expect(err, err.stack).to.have.property('code', code);
  return err;
}
