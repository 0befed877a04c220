// The shell-out baseline: a driver with the same API and on-disk layout as
// ours that forks the usual tools, as a daemon without an addon would:
// mount(8)/umount(8) for get/put, GNU tar for diff/applyDiff, `du -sb` for
// diffSize and `find` for changes. Written plainly, nothing slowed down on
// purpose: independent finds run in parallel, output is parsed in one pass.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';

import { ChangeKind, type Change } from '../src/changes';
import type { MountPath } from './jobs';

const execFileAsync = promisify(execFile);
// find's listing of a large layer is many megabytes.
const MAX_BUFFER = 1 << 30;

const WHITEOUT_PREFIX = '.wh.';
const META_PREFIX = '.wh..wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
// Docker's aufs Diff left aufs's own top-level names out of the tar.
const TAR_EXCLUDES = ['--anchored', `--exclude=./${META_PREFIX}aufs`, `--exclude=./${META_PREFIX}orph`, `--exclude=./${META_PREFIX}plnk`];

export class ShellDriver {
  readonly root: string;
  readonly #mountPath: MountPath;
  readonly #refs = new Map<string, number>();

  constructor(root: string, mountPath: MountPath) {
    this.root = root;
    this.#mountPath = mountPath;
  }

  async create(id: string, parent?: string): Promise<void> {
    const parents = parent === undefined ? [] : [parent, ...(await this.#parents(parent))];
    for (const dir of [this.#diff(id), this.#mnt(id), this.#work(id)]) await mkdir(dir, { recursive: true });
    await writeFile(path.join(this.root, 'layers', id), parents.map((p) => `${p}\n`).join(''));
  }

  async get(id: string): Promise<string> {
    const parents = await this.#parents(id);
    if (parents.length === 0) return this.#diff(id);
    const count = this.#refs.get(id) ?? 0;
    if (count === 0) {
      await mkdir(this.#mnt(id), { recursive: true });
      await mkdir(this.#work(id), { recursive: true });
      await execFileAsync('mount', this.#mountArgs(id, parents));
    }
    this.#refs.set(id, count + 1);
    return this.#mnt(id);
  }

  async put(id: string): Promise<void> {
    const count = this.#refs.get(id) ?? 0;
    if (count > 1) {
      this.#refs.set(id, count - 1);
      return;
    }
    if (count === 1) await execFileAsync('umount', [this.#mnt(id)]);
    this.#refs.delete(id);
  }

  async diffSize(id: string): Promise<number> {
    const { stdout } = await execFileAsync('du', ['-sb', this.#diff(id)]);
    return Number(stdout.slice(0, stdout.indexOf('\t')));
  }

  async changes(id: string): Promise<Change[]> {
    const [layer, ...parents] = await Promise.all(
      [id, ...(await this.#parents(id))].map((layerId) => listTree(this.#diff(layerId))),
    );
    return layerChanges(layer, unionOf(parents));
  }

  async diff(id: string): Promise<Readable> {
    const child = spawn('tar', ['-cf', '-', '-C', this.#diff(id), ...TAR_EXCLUDES, '.'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return Readable.from(outputOf(child));
  }

  async applyDiff(id: string, _parent: string | undefined, diff: Readable): Promise<number> {
    const child = spawn('tar', ['-xf', '-', '-C', this.#diff(id)], { stdio: ['pipe', 'ignore', 'inherit'] });
    const copied = pipeline(diff, child.stdin!).catch((err: NodeJS.ErrnoException) => err);
    await exitOf(child);
    // tar exits at the end-of-archive blocks, maybe before the zeros after them.
    const err = await copied;
    if (err !== undefined && err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
    // Docker's aufs ApplyDiff answered with DiffSize too.
    return this.diffSize(id);
  }

  async #parents(id: string): Promise<string[]> {
    const text = await readFile(path.join(this.root, 'layers', id), 'utf8');
    return text.split('\n').filter((line) => line !== '');
  }

  #mountArgs(id: string, parents: readonly string[]): string[] {
    if (this.#mountPath === 'bind') return ['--bind', this.#diff(id), this.#mnt(id)];
    const lowers = parents.map((parent) => this.#diff(parent)).join(':');
    const data = `lowerdir=${lowers},upperdir=${this.#diff(id)},workdir=${this.#work(id)},allow_other`;
    return ['-t', 'fuse.fuse-overlayfs', '-o', data, 'fuse-overlayfs', this.#mnt(id)];
  }

  #diff(id: string): string {
    return path.join(this.root, 'diff', id);
  }

  #mnt(id: string): string {
    return path.join(this.root, 'mnt', id);
  }

  #work(id: string): string {
    return path.join(this.root, 'work', id);
  }
}

async function* outputOf(child: ChildProcess): AsyncGenerator<Buffer> {
  const exited = exitOf(child);
  for await (const chunk of child.stdout!) yield chunk as Buffer;
  await exited;
}

async function exitOf(child: ChildProcess): Promise<void> {
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  if (code !== 0) throw new Error(`${child.spawnargs.join(' ')} failed: ${signal ?? `exit code ${code}`}`);
}

/** One entry as find printed it. */
interface Entry {
  /** %y: d, f, l, c, b, p or s */
  type: string;
  size: string;
  mode: string;
  /** %T@: seconds with the fraction */
  mtime: string;
}

/** Every entry below `dir` by relative path, in find's order; whiteouts are not entered. */
async function listTree(dir: string): Promise<Map<string, Entry>> {
  const { stdout } = await execFileAsync(
    'find',
    [dir, '-mindepth', '1', '-printf', '%y %s %m %T@ %P\\0', '-name', `${WHITEOUT_PREFIX}*`, '-prune'],
    { maxBuffer: MAX_BUFFER },
  );
  const entries = new Map<string, Entry>();
  for (const record of stdout.split('\0')) {
    if (record === '') continue;
    const [type, size, mode, mtime] = record.split(' ', 4);
    const rest = type.length + size.length + mode.length + mtime.length + 4;
    entries.set(record.slice(rest), { type, size, mode, mtime });
  }
  return entries;
}

function splitPath(p: string): [dir: string, name: string] {
  const slash = p.lastIndexOf('/');
  return slash < 0 ? ['', p] : [p.slice(0, slash), p.slice(slash + 1)];
}

/** Whether `p` or a directory above it is in `paths` (`self`), or only a directory above it. */
function underAny(paths: ReadonlySet<string>, p: string, self: boolean): boolean {
  if (paths.size === 0) return false;
  if (self && paths.has(p)) return true;
  for (let slash = p.lastIndexOf('/'); slash > 0; slash = p.lastIndexOf('/', slash - 1)) {
    if (paths.has(p.slice(0, slash))) return true;
  }
  return false;
}

/** The name `name` whites out, if it is an aufs whiteout (".wh." alone is an ordinary name). */
function whitedOut(name: string): string | undefined {
  return name.startsWith(WHITEOUT_PREFIX) && name.length > WHITEOUT_PREFIX.length
    ? name.slice(WHITEOUT_PREFIX.length)
    : undefined;
}

function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** What the parents (nearest first) show, as aufs would: whiteouts, opaque dirs and files hide farther layers. */
function unionOf(parents: ReadonlyArray<Map<string, Entry>>): Map<string, Entry> {
  const union = new Map<string, Entry>();
  const hidden = new Set<string>();
  const opaque = new Set<string>();
  for (const layer of parents) {
    const hides: string[] = [];
    const opaques: string[] = [];
    for (const [p, entry] of layer) {
      const [dir, name] = splitPath(p);
      const target = whitedOut(name);
      if (name === OPAQUE_MARKER) {
        opaques.push(dir);
      } else if (name.startsWith(META_PREFIX)) {
        // aufs's own bookkeeping
      } else if (target !== undefined) {
        hides.push(joinPath(dir, target));
      } else if (!underAny(hidden, p, true) && !underAny(opaque, p, false)) {
        if (!union.has(p)) union.set(p, entry);
        if (entry.type !== 'd') hides.push(p);
      }
    }
    // An opaque root hides every farther layer.
    if (opaques.includes('')) break;
    for (const p of hides) hidden.add(p);
    for (const p of opaques) opaque.add(p);
  }
  return union;
}

// Times without nanoseconds match any time in their second, as in moby's sameFsTime.
function sameTime(a: string, b: string): boolean {
  if (a === b) return true;
  const [secA, fracA = ''] = a.split('.');
  const [secB, fracB = ''] = b.split('.');
  return secA === secB && (/^0*$/.test(fracA) || /^0*$/.test(fracB));
}

/** The layer's changes against the union of its parents, as moby's aufs changes listed them. */
function layerChanges(layer: Map<string, Entry>, union: Map<string, Entry>): Change[] {
  const changes: Change[] = [];
  const reported = new Set<string>(['']);
  const report = (dir: string): void => {
    if (reported.has(dir)) return;
    reported.add(dir);
    changes.push({ kind: ChangeKind.Modify, path: `/${dir}` });
  };
  for (const [p, entry] of layer) {
    const [dir, name] = splitPath(p);
    const target = whitedOut(name);
    if (name === OPAQUE_MARKER) {
      report(dir);
    } else if (name.startsWith(META_PREFIX) && dir === '') {
      // aufs's own bookkeeping
    } else if (target !== undefined) {
      report(dir);
      changes.push({ kind: ChangeKind.Delete, path: `/${joinPath(dir, target)}` });
    } else {
      const parent = union.get(p);
      if (entry.type === 'd') {
        const same = parent?.type === 'd' && parent.size === entry.size && parent.mode === entry.mode && sameTime(parent.mtime, entry.mtime);
        if (same) continue;
        reported.add(p);
      }
      if (parent === undefined) report(dir);
      changes.push({ kind: parent === undefined ? ChangeKind.Add : ChangeKind.Modify, path: `/${p}` });
    }
  }
  return changes;
}
