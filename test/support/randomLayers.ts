// Seeded random layers for the differential tests against moby: a layer
// with every kind of entry a layer tar can hold, and parent layers for its
// changes, built by the oracle (test/oracle/tree.go).
//
// The parents avoid, by construction, what moby's Changes gets wrong (each
// has a test of its own in test/differential.test.ts): a path has the same
// kind (directory or not) in every layer, whiteouts and opaque markers in a
// parent hide only what the layer does not touch, and a symlink in a parent
// sits where the layer has a non-directory or nothing, pointing at something
// that exists.
import type { TreeSpecEntry } from './mobyOracle';

export interface LayerCase {
  layer: TreeSpecEntry[];
  /** Nearest first. */
  parents: TreeSpecEntry[][];
}

/** Ids that have names on a Debian host, and ids that have none (up to 2^32 - 2; 2^21 and up need PAX). */
const NAMED_IDS = [0, 1, 2, 33, 34, 65534, 100];
const UNNAMED_IDS = [4242, 70_000, 2_097_151, 2_097_152, 3_000_000, 4_294_967_294];
/** Around the limits of the mtime field (11 octal digits: up to 2^33 - 1), and before 1970. */
const MTIMES = [0, 1, -1, -86_400, -1_000_000_000, 1_600_000_000, 2 ** 31, 2 ** 33 - 1, 2 ** 33, 9_000_000_000, 2 ** 34];
/** Around the block size and the inline limit of a batch (1 MiB). */
const SIZES = [0, 1, 511, 512, 513, 1024, 4096, 10_000];
const BIG_SIZES = [1 << 20, (1 << 20) + 1, (1 << 20) + 513];
/** Total path lengths around the USTAR name (100) and prefix (155) fields, and past 255. */
const PATH_LENGTHS = [99, 100, 101, 154, 155, 156, 157, 200, 255, 256, 257, 300];
const MODES = [0o644, 0o755, 0o600, 0o700, 0o444, 0o000, 0o777, 0o640];
const SPECIAL_BITS = [0, 0, 0, 0, 0o4000, 0o2000, 0o1000, 0o6000, 0o7000];

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

// vfs_cap_data: revision 2 (20 bytes), and revision 3 (24, with a root id) that moby writes as 2.
const CAPABILITY_V2 = Buffer.from('0100000280040000000000000000000000000000', 'hex');
const CAPABILITY_V3 = Buffer.from('01000003000400000000000000000000000000000a000000', 'hex');

export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** mulberry32 */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

interface Node {
  path: Buffer;
  entry: TreeSpecEntry;
}

function join(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 0 ? name : Buffer.concat([dir, Buffer.from('/'), name]);
}

function basename(p: Buffer): Buffer {
  const slash = p.lastIndexOf(0x2f);
  return slash < 0 ? p : p.subarray(slash + 1);
}

function dirname(p: Buffer): Buffer {
  const slash = p.lastIndexOf(0x2f);
  return slash < 0 ? Buffer.alloc(0) : p.subarray(0, slash);
}

/** A name: mostly plain, sometimes odd bytes, never '/', NUL, '.' or '..'. */
function randomName(r: Random): Buffer {
  const roll = r.next();
  const plain = (n: number): string => Array.from({ length: n }, () => r.pick([...'abcdefghijklmnopqrstuvwxyzABZ019_-.'])).join('');
  let name: Buffer;
  if (roll < 0.7) name = Buffer.from(plain(1 + r.int(10)));
  else if (roll < 0.8) name = Buffer.from(`${plain(2)}-ünï-名前`);
  else if (roll < 0.85) name = Buffer.concat([Buffer.from(plain(3)), Buffer.from([0xff, 0xfe]), Buffer.from(plain(2))]);
  else if (roll < 0.9) name = Buffer.from(`${plain(3)} with spaces=and\nnewline`);
  else if (roll < 0.95) name = Buffer.from(`.wh.${plain(3)}x`); // looks like a whiteout
  else name = Buffer.from(`.hidden-${plain(4)}`);
  const text = name.toString('latin1');
  return text === '.' || text === '..' ? Buffer.from('dot') : name;
}

/** A name making `dir/name` exactly `length` bytes when it can (names stop at 255 bytes). */
function nameOfLength(dir: Buffer, length: number): Buffer | undefined {
  const n = length - (dir.length === 0 ? 0 : dir.length + 1);
  return n < 1 || n > 255 ? undefined : Buffer.from('n'.repeat(n));
}

function ids(r: Random): { uid: number; gid: number } {
  const one = (): number => (r.chance(0.6) ? r.pick(NAMED_IDS) : r.pick(UNNAMED_IDS));
  return { uid: one(), gid: one() };
}

function times(r: Random): { mtime: number; nsec: number } {
  const mtime = r.chance(0.5) ? 1_500_000_000 + r.int(200_000_000) : r.pick(MTIMES);
  return { mtime, nsec: r.chance(0.5) ? r.int(1_000_000_000) : 0 };
}

/** security.capability, the one xattr Docker archives, and one it leaves out. */
function xattrs(r: Random): Record<string, Buffer> | undefined {
  if (!r.chance(0.08)) return undefined;
  const values: Record<string, Buffer> = {};
  if (r.chance(0.7)) values['security.capability'] = r.chance(0.7) ? CAPABILITY_V2 : CAPABILITY_V3;
  if (r.chance(0.4)) values['trusted.test'] = Buffer.from('not archived');
  return values;
}

/** A layer with every kind of entry, aufs's whiteouts and bookkeeping included. */
function randomLayer(r: Random, seed: number): Node[] {
  const nodes: Node[] = [];
  const taken = new Set<string>();
  const dirs: Buffer[] = [Buffer.alloc(0)];
  const linkable: Node[] = [];
  const add = (path: Buffer, entry: Omit<TreeSpecEntry, 'path'>): Node | undefined => {
    const key = path.toString('hex');
    if (taken.has(key) || path.length > 4000) return undefined;
    taken.add(key);
    const node = { path, entry: { path, ...entry } };
    nodes.push(node);
    return node;
  };
  const entries = 3 + r.int(r.chance(0.1) ? 60 : 25);
  // aufs's own names: the whiteout base, pseudo-links, orphans (never archived).
  const base = r.chance(0.3) ? add(Buffer.from('.wh..wh.aufs'), { type: 'file', mode: 0o444 }) : undefined;
  const plnk = r.chance(0.3) ? add(Buffer.from('.wh..wh.plnk'), { type: 'dir', mode: 0o700 }) : undefined;
  if (r.chance(0.2)) {
    add(Buffer.from('.wh..wh.orph'), { type: 'dir', mode: 0o700 });
    add(Buffer.from('.wh..wh.orph/junk'), { type: 'file', size: 3, seed });
  }
  if (r.chance(0.15)) add(Buffer.from(OPAQUE), { type: 'file', mode: 0o444 });
  for (let i = 0; i < entries; i++) {
    const dir = r.pick(dirs);
    const length = r.chance(0.12) ? nameOfLength(dir, r.pick(PATH_LENGTHS)) : undefined;
    const path = join(dir, length ?? randomName(r));
    const roll = r.next();
    const common = { mode: r.pick(MODES) | r.pick(SPECIAL_BITS), ...ids(r), ...times(r) };
    let node: Node | undefined;
    // A directory named like a whiteout is one moby's Changes walks into (a test of its own).
    if (roll < 0.2 && !basename(path).toString('latin1').startsWith(WHITEOUT)) {
      node = add(path, { type: 'dir', ...common, mode: r.pick([0o755, 0o700, 0o1777, 0o2775, 0o555]) });
      if (node !== undefined) dirs.push(path);
    } else if (roll < 0.55) {
      const size = r.chance(0.02) ? r.pick(BIG_SIZES) : r.chance(0.7) ? r.pick(SIZES) : r.int(100_000);
      node = add(path, { type: 'file', ...common, size, seed: r.int(2 ** 31) });
    } else if (roll < 0.65) {
      const target = r.pick([
        'target',
        '../up/and/over',
        '/etc/passwd',
        'ü-ziel',
        't'.repeat(100),
        't'.repeat(101),
        `${'long/'.repeat(40)}end`,
        Buffer.from([0x61, 0xff]).toString('latin1'),
      ]);
      node = add(path, { type: 'symlink', ...common, target: Buffer.from(target, 'latin1') });
    } else if (roll < 0.7) {
      node = add(path, { type: 'fifo', ...common });
    } else if (roll < 0.75) {
      // 0/0 is an overlay whiteout to the driver (a test of its own): never here.
      const major = r.pick([1, 8, 4095, r.int(4096)]);
      node = add(path, { type: r.pick(['chr', 'blk'] as const), ...common, major, minor: r.pick([0, 3, 1_048_575, r.int(1 << 20)]) });
    } else if (roll < 0.78 && path.length < 40) {
      // Short: a socket's whole path must fit sockaddr_un's 108 bytes.
      node = add(path, { type: 'sock', ...common });
    } else if (roll < 0.88 && linkable.length > 0) {
      add(path, { type: 'hardlink', target: r.pick(linkable).path });
    } else if (roll < 0.95) {
      // A whiteout, which aufs makes as a link to its whiteout base.
      const gone = join(dir, Buffer.concat([Buffer.from(WHITEOUT), randomName(r)]));
      if (base !== undefined && r.chance(0.5)) add(gone, { type: 'hardlink', target: base.path });
      else add(gone, { type: 'file', mode: 0o444, ...ids(r), ...times(r) });
    } else if (dir.length > 0) {
      add(join(dir, Buffer.from(OPAQUE)), { type: 'file', mode: 0o444, ...times(r) });
    }
    if (node !== undefined && node.entry.type !== 'sock') {
      node.entry.xattrs = xattrs(r);
      if (node.entry.type !== 'dir') linkable.push(node);
    }
  }
  // Pseudo-links: names for layer files in aufs's store, first in walk order.
  if (plnk !== undefined) {
    for (const node of linkable.filter((n) => n.entry.type === 'file').slice(0, 2)) {
      add(join(plnk.path, Buffer.from(`${node.path.length}.${nodes.length}`)), { type: 'hardlink', target: node.path });
    }
  }
  return nodes;
}

/** What the layer touches: its paths, and the paths its whiteouts and markers stand for. */
function touched(layer: Node[]): { at: Set<string>; below: (p: Buffer) => boolean } {
  const at = new Set(layer.map((n) => n.path.toString('latin1')));
  const prefixes = [...at];
  return { at, below: (p: Buffer) => { const s = `${p.toString('latin1')}/`; return prefixes.some((q) => q.startsWith(s)); } };
}

/** Parents sharing some of the layer's paths (same kind), with entries, whiteouts and markers of their own. */
function randomParents(r: Random, layer: Node[], seed: number): TreeSpecEntry[][] {
  const count = r.pick([0, 1, 2, 2, 3]);
  const layerDirs = new Map(layer.filter((n) => n.entry.type === 'dir').map((n) => [n.path.toString('latin1'), n.entry]));
  const { at, below } = touched(layer);
  const untouched = (p: Buffer): boolean => !at.has(p.toString('latin1')) && !below(p);
  const parents: TreeSpecEntry[][] = [];
  for (let i = 0; i < count; i++) {
    const entries: TreeSpecEntry[] = [];
    const have = new Set<string>();
    const ensureDirs = (p: Buffer): void => {
      const d = dirname(p);
      if (d.length === 0 || have.has(d.toString('latin1'))) return;
      ensureDirs(d);
      const own = layerDirs.get(d.toString('latin1'));
      have.add(d.toString('latin1'));
      entries.push({ path: d, type: 'dir', mode: own?.mode ?? 0o755, mtime: own?.mtime ?? 1000, nsec: own?.nsec ?? 0 });
    };
    const put = (entry: TreeSpecEntry): void => {
      if (have.has(entry.path.toString('latin1'))) return;
      ensureDirs(entry.path);
      have.add(entry.path.toString('latin1'));
      entries.push(entry);
    };
    for (const node of layer) {
      const name = basename(node.path).toString('latin1');
      const top = node.path.toString('latin1').split('/')[0];
      if (name.startsWith(WHITEOUT) || top.startsWith('.wh..wh.') || !r.chance(0.4)) continue;
      if (node.entry.type === 'dir') {
        // Sometimes alike in mode and mtime, so that only its contents can make it a change.
        const alike = r.chance(0.5);
        put({ path: node.path, type: 'dir', mode: alike ? node.entry.mode : 0o700, mtime: alike ? node.entry.mtime : 1000, nsec: alike ? node.entry.nsec : 0 });
      } else if (r.chance(0.8)) {
        put({ path: node.path, type: 'file', size: r.int(20), seed });
      } else {
        put({ path: node.path, type: 'symlink', target: Buffer.from(r.pick(['.', '/'])) });
      }
    }
    // Entries of its own, hidden or not by its own whiteouts and markers.
    for (let j = 0; j < 2 + r.int(6); j++) {
      const dirs = entries.filter((e) => e.type === 'dir').map((e) => e.path);
      const dir = dirs.length > 0 && r.chance(0.6) ? r.pick(dirs) : Buffer.alloc(0);
      const path = join(dir, Buffer.from(`p${i}-${j}`));
      const roll = r.next();
      // Whites out what a farther parent may hold there.
      const hidden = join(dir, Buffer.from(`p${i + 1 + r.int(2)}-${r.int(8)}`));
      if (roll < 0.85 && !untouched(path)) continue;
      if (roll < 0.4) put({ path, type: 'file', size: r.int(10), seed });
      else if (roll < 0.6) put({ path, type: 'dir', mode: 0o755 });
      else if (roll < 0.7) put({ path, type: 'symlink', target: Buffer.from('.') });
      else if (roll < 0.85) {
        if (untouched(hidden)) put({ path: join(dir, Buffer.concat([Buffer.from(WHITEOUT), basename(hidden)])), type: 'file', mode: 0o444 });
      } else if (untouched(dir) && dir.length > 0) put({ path: join(dir, Buffer.from(OPAQUE)), type: 'file', mode: 0o444 });
    }
    parents.push(entries);
  }
  return parents;
}

/** The case of `seed`: the same seed always makes the same trees. */
export function randomCase(seed: number): LayerCase {
  const r = new Random(seed);
  const layer = randomLayer(r, seed);
  return { layer: layer.map((n) => n.entry), parents: randomParents(r, layer, seed) };
}
