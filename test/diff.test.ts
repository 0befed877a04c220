import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';

import { init, type Driver } from '../src/index';
import { native } from '../src/native';
import { hostName } from './support/hostIds';
import { expectOk, runOracle, type ManifestEntry } from './support/mobyOracle';
import { scanTar, tarDifference, type ScannedEntry } from './support/tarScan';
import { UNDER_ASAN } from './helpers/sanitizers';

const TARTOOL = path.join(__dirname, 'tools', 'tartool.py');
const MEMORY_PROBE = path.join(__dirname, 'support', 'diffMemoryProbe.ts');
const execFileAsync = promisify(execFile);
const MOUNT_PROGRAM = '/usr/bin/fuse-overlayfs';
const MiB = 1 << 20;

// ---------------------------------------------------------------------------
// Trees described as data, built with fs and (for what fs cannot make) Python.

type NodeType = 'dir' | 'file' | 'symlink' | 'hardlink' | 'chr' | 'blk' | 'fifo' | 'sock';

interface TreeNode {
  /** Relative; lone surrogates U+DC80..U+DCFF stand for bytes that are not UTF-8, as in Python. */
  path: string;
  type: NodeType;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds, possibly fractional. */
  mtime?: number;
  content?: Buffer;
  target?: string;
  /** For hard links: the path linked to. */
  of?: string;
  major?: number;
  minor?: number;
  xattrs?: Record<string, Buffer>;
}

const DEFAULT_MTIME = 1_600_000_000.25;

/** Python's os.fsencode: UTF-8, with lone surrogates U+DC80..U+DCFF back to their bytes. */
function fsBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  for (const char of text) {
    const code = char.charCodeAt(0);
    parts.push(code >= 0xdc80 && code <= 0xdcff ? Buffer.from([code - 0xdc00]) : Buffer.from(char));
  }
  return Buffer.concat(parts);
}

function tartool(args: string[], input?: string): string {
  return execFileSync('python3', [TARTOOL, ...args], { input, maxBuffer: 256 * MiB }).toString();
}

function defaultMode(type: NodeType): number {
  if (type === 'dir') return 0o755;
  if (type === 'symlink') return 0o777;
  return type === 'chr' || type === 'blk' ? 0o600 : 0o644;
}

function buildTree(dir: string, nodes: readonly TreeNode[]): void {
  const at = (p: string): Buffer => Buffer.concat([Buffer.from(`${dir}/`), fsBytes(p)]);
  const special: object[] = [];
  for (const n of nodes) {
    const where = `${dir}/${n.path}`;
    if (n.type === 'dir') fs.mkdirSync(at(n.path));
    else if (n.type === 'file') fs.writeFileSync(at(n.path), n.content ?? '');
    else if (n.type === 'symlink') fs.symlinkSync(n.target!, at(n.path));
    else if (n.type === 'fifo') special.push({ op: 'mkfifo', path: where, mode: 0o600 });
    else if (n.type === 'sock') special.push({ op: 'socket', path: where });
    else if (n.type === 'chr' || n.type === 'blk') {
      special.push({ op: 'mknod', kind: n.type, path: where, mode: 0o600, major: n.major, minor: n.minor });
    }
  }
  tartool(['mknodes'], JSON.stringify(special));
  for (const n of nodes) if (n.type === 'hardlink') fs.linkSync(at(n.of!), at(n.path));
  // Owner before mode and xattrs: chown clears setuid bits and capabilities.
  const xattrs: object[] = [];
  for (const n of nodes) {
    if (n.type === 'hardlink') continue;
    fs.lchownSync(at(n.path), n.uid ?? 0, n.gid ?? 0);
    if (n.type !== 'symlink') fs.chmodSync(at(n.path), n.mode ?? defaultMode(n.type));
    for (const [name, value] of Object.entries(n.xattrs ?? {})) {
      xattrs.push({ op: 'setxattr', path: `${dir}/${n.path}`, name, value: value.toString('hex') });
    }
  }
  tartool(['mknodes'], JSON.stringify(xattrs));
  // Times last, children before their directories. (A Date: fs takes a negative number for "now".)
  for (const n of [...nodes].reverse()) {
    const time = new Date((n.mtime ?? DEFAULT_MTIME) * 1000);
    if (n.type !== 'hardlink') fs.lutimesSync(at(n.path), time, time);
  }
}

/**
 * The oracle's description of a tree, pre-order, paths decoded, in whole
 * seconds as tars keep times. Hard links show as the first path of their
 * inode among the entries kept, so trees on different disks compare.
 */
async function snapshot(dir: string, keep: (e: ManifestEntry) => boolean = () => true): Promise<ManifestEntry[]> {
  const [answer] = await runOracle([{ op: 'manifest', dir }]);
  const entries = (expectOk(answer, `manifest ${dir}`).entries ?? [])
    .map((e) => ({ ...e, path: Buffer.from(e.path, 'hex').toString(), nsec: 0, xattrs: e.xattrs ?? {} }))
    .filter(keep);
  const firstPath = new Map<string, string>();
  for (const e of entries) {
    if (e.inode !== undefined) {
      if (!firstPath.has(e.inode)) firstPath.set(e.inode, e.path);
      e.inode = firstPath.get(e.inode);
    }
  }
  return entries;
}

// ---------------------------------------------------------------------------
// The layer every archive test starts from.

// vfs_cap_data revision 2, effective, permitted = CAP_SETUID (bit 7) | CAP_NET_BIND_SERVICE
// (bit 10): the 0x80 byte is not valid UTF-8, so only a binary-safe writer carries it.
const CAPABILITY = Buffer.from('01000002' + '80040000' + '00000000' + '00000000' + '00000000', 'hex');
const BIG = randomBytes(3 * MiB + 123);
const LONG_DIR = `long/${'d'.repeat(90)}`;
const LONG_FILE_SPLIT = `${LONG_DIR}/${'f'.repeat(95)}`; // 191 bytes, fits the USTAR prefix split
const LONG_FILE_EDGE = `long/${'e'.repeat(95)}`; // 100 bytes: the name field's size
const LONG_FILE = `long/${'n'.repeat(120)}`; // a 120-byte name: pax
const WIDE_DIR = 'y'.repeat(150); // with its slash, too long for the name field: pax
const LONG_TARGET = `${'t/'.repeat(60)}end`;
const BAD_NAME = 'bad-\udcff\udcfe'; // bytes ff fe: not UTF-8
const UNICODE_NAME = 'ünïcødé-名前';

const LAYER: readonly TreeNode[] = [
  { path: '.wh..wh..opq', type: 'file', mode: 0o444 },
  { path: '.wh..wh.aufs', type: 'file', mode: 0o444 },
  { path: '.wh..wh.orph', type: 'dir', mode: 0o700 },
  { path: '.wh..wh.orph/junk', type: 'file', content: Buffer.from('orphan') },
  { path: '.wh..wh.plnk', type: 'dir', mode: 0o700 },
  { path: '.wh.gone', type: 'hardlink', of: '.wh..wh.aufs' },
  { path: 'Zebra', type: 'file', content: Buffer.from('upper case sorts first'), uid: 1000, gid: 1000 },
  { path: 'a', type: 'dir' },
  { path: 'a/inner', type: 'file', content: Buffer.from('inner') },
  { path: 'a-file', type: 'file', content: Buffer.from('hello\n'), mtime: 1_700_000_000.987654 },
  { path: BAD_NAME, type: 'file', content: Buffer.from('bytes') },
  { path: 'big', type: 'file', content: BIG, uid: 7, gid: 8 },
  { path: 'bin', type: 'dir' },
  {
    path: 'bin/cap',
    type: 'file',
    mode: 0o755,
    content: Buffer.from('#!/bin/true\n'),
    xattrs: { 'security.capability': CAPABILITY, 'user.comment': Buffer.from('not archived') },
  },
  { path: 'bin/setgid', type: 'file', mode: 0o2755, gid: 50, content: Buffer.from('sgid') },
  { path: 'bin/setuid', type: 'file', mode: 0o4755, content: Buffer.from('suid') },
  { path: '.wh..wh.plnk/4242.7', type: 'hardlink', of: 'bin/setuid' },
  { path: 'dev', type: 'dir' },
  { path: 'dev/blk', type: 'blk', major: 8, minor: 1, mode: 0o660, gid: 6 },
  { path: 'dev/chr', type: 'chr', major: 1, minor: 3, mode: 0o666 },
  { path: 'dev/fifo', type: 'fifo', mode: 0o640 },
  { path: 'dev/sock', type: 'sock', mode: 0o755 },
  { path: 'empty', type: 'file', mode: 0o600 },
  { path: 'hard-a', type: 'file', content: Buffer.from('shared'), uid: 33, gid: 33 },
  { path: 'ids', type: 'dir' },
  { path: 'ids/big', type: 'file', uid: 3_000_000, gid: 4_000_000, content: Buffer.from('big ids') },
  { path: 'ids/edge', type: 'file', uid: 0o777777, gid: 0o777777, content: Buffer.from('6 octal digits') },
  { path: 'ids/mid', type: 'file', uid: 300_000, gid: 65534, content: Buffer.from('mid ids') },
  { path: 'links', type: 'dir' },
  { path: 'links/abs', type: 'symlink', target: '/etc/passwd', uid: 5, gid: 6 },
  { path: 'links/edge', type: 'symlink', target: 'e'.repeat(100) },
  { path: 'links/long', type: 'symlink', target: LONG_TARGET },
  { path: 'links/rel', type: 'symlink', target: '../a-file' },
  { path: 'links/uni', type: 'symlink', target: 'ziel-ü' },
  { path: 'long', type: 'dir' },
  { path: LONG_DIR, type: 'dir' },
  { path: LONG_FILE_SPLIT, type: 'file', content: Buffer.from('split') },
  { path: LONG_FILE_EDGE, type: 'file' },
  { path: LONG_FILE, type: 'file', content: Buffer.from('pax name') },
  { path: 'noperm', type: 'file', mode: 0o000, content: Buffer.from('mode 0') },
  { path: 'opq', type: 'dir' },
  { path: 'opq/.wh..wh..opq', type: 'file', mode: 0o444 },
  { path: 'opq/kept', type: 'file' },
  { path: 'sticky', type: 'dir', mode: 0o1777 },
  { path: 'sub', type: 'dir', mode: 0o2775, gid: 100 },
  { path: 'sub/.wh.old', type: 'hardlink', of: '.wh..wh.aufs' },
  { path: 'sub/hard-b', type: 'hardlink', of: 'hard-a' },
  { path: 'times', type: 'dir' },
  { path: 'times/future', type: 'file', mtime: 2 ** 33 + 0.5 },
  { path: 'times/past', type: 'file', mtime: -86400 },
  { path: WIDE_DIR, type: 'dir' },
  { path: `${WIDE_DIR}/c`, type: 'file', content: Buffer.from('prefix split') },
  { path: UNICODE_NAME, type: 'file', content: Buffer.from('unicode') },
];

/** The archive, in order: [path (directories with their slash), first name for hard links]. */
const EXPECTED_ORDER: ReadonlyArray<readonly [string, string?]> = [
  ['.wh..wh..opq'],
  ['.wh.gone'],
  ['Zebra'],
  ['a/'],
  ['a/inner'],
  ['a-file'],
  [BAD_NAME],
  ['big'],
  ['bin/'],
  ['bin/cap'],
  ['bin/setgid'],
  ['bin/setuid'],
  ['dev/'],
  ['dev/blk'],
  ['dev/chr'],
  ['dev/fifo'],
  ['empty'],
  ['hard-a'],
  ['ids/'],
  ['ids/big'],
  ['ids/edge'],
  ['ids/mid'],
  ['links/'],
  ['links/abs'],
  ['links/edge'],
  ['links/long'],
  ['links/rel'],
  ['links/uni'],
  ['long/'],
  [`${LONG_DIR}/`],
  [LONG_FILE_SPLIT],
  [LONG_FILE_EDGE],
  [LONG_FILE],
  ['noperm'],
  ['opq/'],
  ['opq/.wh..wh..opq'],
  ['opq/kept'],
  ['sticky/'],
  ['sub/'],
  ['sub/.wh.old', '.wh.gone'],
  ['sub/hard-b', 'hard-a'],
  ['times/'],
  ['times/future'],
  ['times/past'],
  [`${WIDE_DIR}/`],
  [`${WIDE_DIR}/c`],
  [UNICODE_NAME],
];

/**
 * The entries with an extended header, and its records: nobody else may have
 * one. Go writes them for what USTAR cannot hold (7 octal digits hold ids up
 * to 2^21 - 1, 11 hold mtimes 0 to 2^33 - 1), with raw bytes for a name that
 * is not UTF-8 and no hdrcharset.
 */
const EXPECTED_PAX: Readonly<Record<string, Record<string, Buffer>>> = {
  [BAD_NAME]: { path: fsBytes(BAD_NAME) },
  'bin/cap': { 'SCHILY.xattr.security.capability': CAPABILITY },
  'ids/big': { uid: Buffer.from('3000000'), gid: Buffer.from('4000000') },
  'links/long': { linkpath: Buffer.from(LONG_TARGET) },
  'links/uni': { linkpath: Buffer.from('ziel-ü') },
  [LONG_FILE]: { path: Buffer.from(LONG_FILE) },
  'times/future': { mtime: Buffer.from(String(2 ** 33)) },
  'times/past': { mtime: Buffer.from('-86400') },
  [`${WIDE_DIR}/`]: { path: Buffer.from(`${WIDE_DIR}/`) },
  [UNICODE_NAME]: { path: Buffer.from(UNICODE_NAME) },
};

/** The file-type bits moby keeps in the mode field (fillGo18FileTypeBits). */
const TYPE_BITS: Partial<Record<NodeType, number>> = {
  file: 0o100000,
  symlink: 0o120000,
  chr: 0o020000,
  blk: 0o060000,
  dir: 0o040000,
  fifo: 0o010000,
};

const TYPEFLAGS: Partial<Record<NodeType, string>> = {
  file: '0',
  symlink: '2',
  chr: '3',
  blk: '4',
  dir: '5',
  fifo: '6',
};

/** What the archive's header must say of `entryPath`, from the fixture alone. */
function expectedHeader(entryPath: string, firstName: string | undefined) {
  const node = LAYER.find((n) => n.path === entryPath.replace(/\/$/, ''))!;
  const inode = node.type === 'hardlink' ? LAYER.find((n) => n.path === node.of)! : node;
  const isFile = node.type === 'file';
  return {
    name: fsBytes(entryPath).toString('hex'),
    typeflag: firstName === undefined ? TYPEFLAGS[inode.type] : '1',
    mode: TYPE_BITS[inode.type]! | (inode.mode ?? defaultMode(inode.type)),
    uid: inode.uid ?? 0,
    gid: inode.gid ?? 0,
    size: isFile ? (node.content?.length ?? 0) : 0,
    mtime: Math.floor(inode.mtime ?? DEFAULT_MTIME),
    linkname: firstName ?? node.target ?? '',
    uname: hostName('passwd', inode.uid ?? 0),
    gname: hostName('group', inode.gid ?? 0),
    devmajor: node.major ?? 0,
    devminor: node.minor ?? 0,
    pax: EXPECTED_PAX[entryPath] ?? {},
    sha256: isFile ? sha256(node.content ?? Buffer.alloc(0)) : sha256(Buffer.alloc(0)),
  };
}

function describeScanned(e: ScannedEntry) {
  return {
    name: e.name.toString('hex'),
    typeflag: e.typeflag,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    size: e.size,
    mtime: e.mtime,
    linkname: e.linkname.toString(),
    uname: e.uname,
    gname: e.gname,
    devmajor: e.devmajor,
    devminor: e.devminor,
    pax: Object.fromEntries(e.pax),
    sha256: sha256(e.content.subarray(0, e.size)),
  };
}

/** Top-level aufs bookkeeping and sockets: what diff() leaves out. */
function isArchived(e: ManifestEntry): boolean {
  const top = e.path.split('/')[0];
  return !(top.startsWith('.wh..wh.') && top !== '.wh..wh..opq') && e.type !== 'sock';
}

// ---------------------------------------------------------------------------

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

describe('Driver.diff', function () {
  let root: string;
  let d: Driver;

  before(async () => {
    root = fs.mkdtempSync('/tmp/aufs-difftest-');
    d = await init(root, [`aufs.mount_program=${MOUNT_PROGRAM}`]);
  });

  after(async () => {
    await d.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  });

  function diffDir(id: string): string {
    return path.join(root, 'diff', id);
  }

  describe('a layer with every kind of entry', () => {
    let tar: Buffer;

    before(async () => {
      await d.create('full');
      buildTree(diffDir('full'), LAYER);
      tar = await collect(await d.diff('full'));
    });

    it('lists the entries in bytewise pre-order with exactly the expected headers', () => {
      const scanned = scanTar(tar).map(describeScanned);
      expect(scanned).to.deep.equal(EXPECTED_ORDER.map(([p, first]) => expectedHeader(p, first)));
    });

    it("is byte for byte the tar Docker's aufs driver writes of the layer (moby's TarWithOptions)", async () => {
      await expectMobyTar(diffDir('full'), tar);
    });

    it('writes the file of an inode linked from bookkeeping normally, not as a link', () => {
      const setuid = scanTar(tar).find((e) => e.name.toString() === 'bin/setuid')!;
      expect(setuid.typeflag).to.equal('0');
      expect(fs.statSync(path.join(diffDir('full'), 'bin/setuid')).nlink).to.equal(2);
    });

    it('extracts with GNU tar to the same tree, less bookkeeping, sockets and xattrs other than capabilities', async () => {
      const dest = fs.mkdtempSync(path.join(root, 'gnu-'));
      execFileSync(
        'tar',
        ['-xpf', '-', '--xattrs', '--xattrs-include=*', '--same-owner', '--numeric-owner', '-C', dest],
        { input: tar, stdio: ['pipe', 'pipe', 'pipe'] }, // quiet about the far-off mtimes
      );
      const expected = (await snapshot(diffDir('full'), isArchived)).map((e) => ({
        ...e,
        xattrs: Object.fromEntries(Object.entries(e.xattrs ?? {}).filter(([name]) => name === 'security.capability')),
      }));
      expect(expected.find((e) => e.path === 'bin/cap')!.xattrs).to.have.keys('security.capability');
      expect(await snapshot(dest)).to.deep.equal(expected);
    });

    it("extracts with Python's tarfile to the same tree (tarfile sets neither xattrs nor symlink times)", async () => {
      const dest = fs.mkdtempSync(path.join(root, 'python-'));
      const file = path.join(root, 'full.tar');
      fs.writeFileSync(file, tar);
      tartool(['extract', file, dest]);
      const comparable = (e: ManifestEntry) => ({ ...e, xattrs: {}, mtime: e.type === 'symlink' ? 0 : e.mtime });
      const original = await snapshot(diffDir('full'), isArchived);
      expect((await snapshot(dest)).map(comparable)).to.deep.equal(original.map(comparable));
    });
  });

  describe('overlay-form whiteouts', () => {
    it('archives a layer the same while mounted through the mount program and after put()', async () => {
      await d.create('lower');
      buildTree(diffDir('lower'), [
        { path: 'gone', type: 'file', content: Buffer.from('x') },
        { path: 'keep', type: 'file', content: Buffer.from('k') },
        { path: 'opq', type: 'dir' },
        { path: 'opq/old', type: 'file' },
        { path: 'tree', type: 'dir' },
        { path: 'tree/deep', type: 'dir' },
        { path: 'tree/deep/file', type: 'file' },
        { path: 'tree/z', type: 'file' },
      ]);
      await d.create('upper', 'lower');
      const mnt = await d.get('upper');
      fs.unlinkSync(path.join(mnt, 'gone'));
      fs.rmSync(path.join(mnt, 'opq'), { recursive: true });
      fs.mkdirSync(path.join(mnt, 'opq'));
      fs.writeFileSync(path.join(mnt, 'opq/!first'), 'sorts before the marker');
      fs.writeFileSync(path.join(mnt, 'opq/new'), 'new');
      fs.unlinkSync(path.join(mnt, 'tree/z'));
      fs.rmSync(path.join(mnt, 'tree/deep'), { recursive: true });
      fs.writeFileSync(path.join(mnt, 'added'), 'added');

      // The upper directory holds overlay forms while mounted.
      const upper = await snapshot(diffDir('upper'));
      expect(upper.find((e) => e.path === 'gone')).to.include({ type: 'chr' });
      expect(upper.find((e) => e.path === 'opq')!.xattrs).to.have.property('trusted.overlay.opaque', '79'); // 'y'
      const mounted = await collect(await d.diff('upper'));

      await d.put('upper');
      expect((await snapshot(diffDir('upper'))).map((e) => e.type)).to.not.include('chr');
      const unmounted = await collect(await d.diff('upper'));
      await expectMobyTar(diffDir('upper'), unmounted);

      const names = scanTar(mounted).map((e) => e.name.toString());
      expect(names).to.deep.equal([
        '.wh.gone',
        'added',
        'opq/',
        'opq/!first',
        'opq/.wh..wh..opq',
        'opq/new',
        'tree/',
        'tree/.wh.deep',
        'tree/.wh.z',
      ]);
      expect(scanTar(mounted).filter((e) => e.pax.size > 0)).to.deep.equal([]);
      expect(mounted.equals(unmounted), 'the two archives are byte for byte the same').to.equal(true);
    });

    describe('written directly (every form the conversion meets)', () => {
      const NAME_MAX = 255;
      const tooLong = 'w'.repeat(NAME_MAX - 2); // its aufs name would not fit a directory entry
      const layer: readonly TreeNode[] = [
        { path: 'gone', type: 'chr', major: 0, minor: 0, uid: 12, gid: 34, mtime: 1_650_000_000 },
        { path: 'xattr-only', type: 'dir', uid: 5, gid: 6, mtime: 1_660_000_000 },
        { path: 'xattr-only/!first', type: 'file' },
        { path: 'xattr-only/zzz', type: 'file' },
        { path: 'xattr-and-device', type: 'dir' },
        { path: 'xattr-and-device/.wh..opq', type: 'chr', major: 0, minor: 0 },
        { path: 'all-three', type: 'dir' },
        { path: 'all-three/.wh..opq', type: 'chr', major: 0, minor: 0 },
        { path: 'all-three/.wh..wh..opq', type: 'file', mode: 0o700, mtime: 1_670_000_000 },
        { path: 'device-only', type: 'dir' },
        { path: 'device-only/.wh..opq', type: 'chr', major: 0, minor: 0, mtime: 1_680_000_000 },
        { path: 'both-forms', type: 'dir' },
        { path: 'both-forms/.wh.x', type: 'file', mode: 0o600, mtime: 1_690_000_000 },
        { path: 'both-forms/x', type: 'chr', major: 0, minor: 0 },
        { path: 'both-forms/x.y', type: 'file' },
        { path: 'long', type: 'dir' },
        { path: `long/${tooLong}`, type: 'chr', major: 0, minor: 0 },
        { path: 'real-device', type: 'chr', major: 1, minor: 5 },
      ];
      const opaque = ['xattr-only', 'xattr-and-device', 'all-three'];

      it('writes aufs forms in aufs order, and the same archive once they are converted', async () => {
        await d.create('overlay-form');
        const dir = diffDir('overlay-form');
        buildTree(dir, layer);
        const ops = opaque.map((p) => ({ op: 'setxattr', path: `${dir}/${p}`, name: 'trusted.overlay.opaque', value: '79' }));
        tartool(['mknodes'], JSON.stringify(ops)); // changes no mtime

        const before = await collect(await d.diff('overlay-form'));
        const entries = scanTar(before);
        expect(entries.map((e) => [e.name.toString(), e.typeflag])).to.deep.equal([
          ['.wh.gone', '0'],
          ['all-three/', '5'],
          ['all-three/.wh..wh..opq', '0'],
          ['both-forms/', '5'],
          ['both-forms/.wh.x', '0'],
          ['both-forms/x.y', '0'],
          ['device-only/', '5'],
          ['device-only/.wh..wh..opq', '0'],
          ['long/', '5'],
          // No aufs form can be this long: it stays a device on disk, and in the tar.
          [`long/${tooLong}`, '3'],
          ['real-device', '3'],
          ['xattr-and-device/', '5'],
          ['xattr-and-device/.wh..wh..opq', '0'],
          ['xattr-only/', '5'],
          ['xattr-only/!first', '0'],
          ['xattr-only/.wh..wh..opq', '0'],
          ['xattr-only/zzz', '0'],
        ]);
        const byName = new Map(entries.map((e) => [e.name.toString(), e]));
        // A device's whiteout keeps its owner and time; a synthesized marker its directory's.
        expect(byName.get('.wh.gone')).to.include({ mode: 0o100444, uid: 12, gid: 34, mtime: 1_650_000_000, size: 0 });
        expect(byName.get('xattr-only/.wh..wh..opq')).to.include({ mode: 0o100444, uid: 5, gid: 6, mtime: 1_660_000_000 });
        expect(byName.get('device-only/.wh..wh..opq')).to.include({ mode: 0o100444, mtime: 1_680_000_000 });
        // Real files win over the forms that stand for them.
        expect(byName.get('all-three/.wh..wh..opq')).to.include({ mode: 0o100700, mtime: 1_670_000_000 });
        expect(byName.get('both-forms/.wh.x')).to.include({ mode: 0o100600, mtime: 1_690_000_000 });
        expect(entries.flatMap((e) => [...e.pax.keys()])).to.deep.equal(['path']);

        expect(await native.convertOverlayWhiteouts(dir)).to.be.greaterThan(0);
        expect((await snapshot(dir)).filter((e) => e.type === 'chr').map((e) => e.path)).to.deep.equal([
          `long/${tooLong}`,
          'real-device',
        ]);
        const after = await collect(await d.diff('overlay-form'));
        expect(after.equals(before), 'the two archives are byte for byte the same').to.equal(true);
        await expectMobyTar(dir, after);
      });
    });
  });

  describe('streaming', () => {
    before(async () => {
      await d.create('many');
      const nodes: TreeNode[] = [{ path: 'big', type: 'dir' }];
      for (let i = 0; i < 6; i++) nodes.push({ path: `big/${i}`, type: 'file', content: randomBytes(4 * MiB) });
      nodes.push({ path: 'small', type: 'dir' });
      for (let i = 0; i < 3000; i++) nodes.push({ path: `small/${i}`, type: 'file', content: randomBytes(100) });
      buildTree(diffDir('many'), nodes);
    });

    it('stops with an AbortError and releases every descriptor when the signal aborts mid-stream', async () => {
      const fdsBefore = openFds();
      const controller = new AbortController();
      const stream = await d.diff('many', undefined, { signal: controller.signal });
      let received = 0;
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > 5 * MiB) controller.abort(new Error('enough'));
      });
      const [err] = (await once(stream, 'error')) as [Error & { code?: string }];
      expect(err).to.include({ name: 'AbortError', code: 'ABORT_ERR' });
      expect((err.cause as Error).message).to.equal('enough');
      if (!stream.closed) await once(stream, 'close');
      expect(received).to.be.lessThan(24 * MiB);
      expect(openFds()).to.equal(fdsBefore);
    });

    it('aborts a stream nobody is reading, and releases its descriptors', async () => {
      const fdsBefore = openFds();
      const controller = new AbortController();
      const stream = await d.diff('many', undefined, { signal: controller.signal });
      await waitForBufferedOutput(stream);
      controller.abort();
      const [err] = (await once(stream, 'error')) as [Error];
      expect(err).to.include({ name: 'AbortError' });
      if (!stream.closed) await once(stream, 'close');
      expect(openFds()).to.equal(fdsBefore);
    });

    it('releases every descriptor when the consumer destroys the stream', async () => {
      const fdsBefore = openFds();
      const stream = await d.diff('many');
      stream.once('data', () => stream.destroy());
      await once(stream, 'close');
      expect(openFds()).to.equal(fdsBefore);
    });

    it('rejects with an AbortError when the signal has aborted already', async () => {
      const controller = new AbortController();
      controller.abort();
      const err = await d.diff('many', undefined, { signal: controller.signal }).catch((e: unknown) => e);
      expect(err).to.include({ name: 'AbortError', code: 'ABORT_ERR' });
    });

    it('leaves out what vanishes while the walk is under way', async () => {
      await d.create('vanishing');
      const file = (i: number): string => path.join(diffDir('vanishing'), `files/${String(i).padStart(5, '0')}`);
      fs.mkdirSync(path.join(diffDir('vanishing'), 'files'));
      for (let i = 0; i < 10_000; i++) fs.writeFileSync(file(i), '');
      fs.mkdirSync(path.join(diffDir('vanishing'), 'later'));
      fs.writeFileSync(path.join(diffDir('vanishing'), 'later/file'), '');
      const stream = await d.diff('vanishing');
      // The walk stops a few batches (of hundreds of entries) ahead of the consumer.
      await waitForBufferedOutput(stream);
      for (let i = 5_000; i < 10_000; i++) fs.unlinkSync(file(i));
      fs.rmSync(path.join(diffDir('vanishing'), 'later'), { recursive: true });
      const names = scanTar(await collect(stream)).map((e) => e.name.toString());
      expect(names).to.have.length(5_001);
      expect(names.at(-1)).to.equal('files/04999');
    });

    it('archives exactly the header size of a file that grows while it is read', async () => {
      await d.create('grows');
      const file = path.join(diffDir('grows'), 'log');
      const original = randomBytes(3 * MiB);
      fs.writeFileSync(file, original);
      const stream = await d.diff('grows');
      await waitForBufferedOutput(stream);
      fs.appendFileSync(file, randomBytes(MiB));
      const [entry] = scanTar(await collect(stream));
      expect(entry.size).to.equal(original.length);
      expect(entry.content.equals(original)).to.equal(true);
    });

    it('fails with ERR_FILE_CHANGED when a file shrinks while it is read, rather than padding it', async () => {
      await d.create('shrinks');
      const file = path.join(diffDir('shrinks'), 'log');
      fs.writeFileSync(file, randomBytes(3 * MiB));
      const stream = await d.diff('shrinks');
      await waitForBufferedOutput(stream);
      fs.truncateSync(file, MiB + 100);
      const err = await collect(stream).catch((e: unknown) => e);
      expect(err).to.include({ code: 'ERR_FILE_CHANGED', path: file });
    });
  });

  describe('device numbers', () => {
    it("archives the widest device numbers Linux has (12-bit major, 20-bit minor) in USTAR's fields", async () => {
      await d.create('wide-device');
      buildTree(diffDir('wide-device'), [{ path: 'wide', type: 'chr', major: 4095, minor: 1_048_575 }]);
      const tar = await collect(await d.diff('wide-device'));
      expect(scanTar(tar)[0]).to.include({ devmajor: 4095, devminor: 1_048_575 });
      await expectMobyTar(diffDir('wide-device'), tar);
    });
  });

  describe('errors', () => {
    it('rejects with ERR_LAYER_NOT_FOUND for an unknown layer', async () => {
      const err = await d.diff('no-such-layer').catch((e: unknown) => e);
      expect(err).to.include({ code: 'ERR_LAYER_NOT_FOUND', path: diffDir('no-such-layer') });
    });

    it('rejects with ERR_INVALID_ID for a name that is no id', async () => {
      const err = await d.diff('../diff').catch((e: unknown) => e);
      expect(err).to.include({ code: 'ERR_INVALID_ID' });
    });
  });

  describe('memory', () => {
    const FILES = 16;
    const FILE_SIZE = 64 * MiB;

    it('archives a 1 GiB layer, every byte read, in a process of under 150 MB resident', async function () {
      this.timeout(600_000);
      await d.create('gigabyte');
      const expected = new Map<string, string>();
      for (let i = 0; i < FILES; i++) {
        // Sparse, but with data at both ends and in the middle: every byte is still read.
        const name = `f${String(i).padStart(2, '0')}`;
        const file = path.join(diffDir('gigabyte'), name);
        const fd = fs.openSync(file, 'w');
        fs.ftruncateSync(fd, FILE_SIZE);
        for (const at of [0, FILE_SIZE / 2, FILE_SIZE - 4096]) fs.writeSync(fd, randomBytes(4096), 0, 4096, at);
        fs.closeSync(fd);
        expected.set(name, await hashFile(file));
      }

      // In a process of its own, so that what earlier tests left in this one does not count.
      const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', MEMORY_PROBE, root, 'gigabyte'], {
        maxBuffer: MiB,
      });
      const { peak, hashes } = JSON.parse(stdout) as { peak: number; hashes: Record<string, string> };

      expect(new Map(Object.entries(hashes))).to.deep.equal(expected);
      if (!UNDER_ASAN) expect(peak, `peak resident set: ${peak} bytes`).to.be.lessThan(150e6);
    });
  });
});

/** Fails, naming where they part, unless `tar` is what moby's TarWithOptions writes of `dir`. */
async function expectMobyTar(dir: string, tar: Buffer): Promise<void> {
  const file = `${dir}.moby.tar`;
  try {
    expectOk((await runOracle([{ op: 'tar', dir, tar: file }]))[0], `tar ${dir}`);
    const difference = tarDifference(tar, fs.readFileSync(file));
    if (difference !== undefined) expect.fail(`not moby's tar of ${dir}: ${difference}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** Waits until the stream has output buffered and, with nobody reading, stops producing. */
async function waitForBufferedOutput(stream: Readable): Promise<void> {
  stream.read(0);
  while (stream.readableLength < stream.readableHighWaterMark) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    fs.createReadStream(file, { highWaterMark: 4 * MiB })
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}
