import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import { applyTar } from '../src/archive/apply';
import {
  diffDir,
  expectRejection,
  gnuTar,
  makeTree,
  newTestRoot,
  pythonTar,
  pythonTarOfTree,
  rejection,
  removeTestRoot,
  snapshot,
  streamOf,
  type SnapshotEntry,
  type TestRoot,
} from './tarSupport';

type MtimePrecision = 'ns' | 'us' | 's';

interface Expectations {
  xattrs: boolean;
  mtime: MtimePrecision;
}

function mtimeAt(ns: string, precision: MtimePrecision): string {
  const value = BigInt(ns);
  if (precision === 's') return String(value / 1_000_000_000n);
  // Python's tarfile writes pax times from a double: a microsecond is what survives.
  if (precision === 'us') return String((value + 500n) / 1000n);
  return String(value);
}

/** Paths sharing each path's inode: hard links must come out linked the same way. */
function linkGroups(tree: Record<string, SnapshotEntry>): Map<string, string[]> {
  const byInode = new Map<number, string[]>();
  for (const [p, e] of Object.entries(tree)) {
    if (e.type !== 'dir') byInode.set(e.ino, [...(byInode.get(e.ino) ?? []), p]);
  }
  const groups = new Map<string, string[]>();
  for (const paths of byInode.values()) for (const p of paths) groups.set(p, paths.sort());
  return groups;
}

function expectSameTree(
  actual: Record<string, SnapshotEntry>,
  expected: Record<string, SnapshotEntry>,
  { xattrs, mtime }: Expectations,
): void {
  expect(Object.keys(actual).sort()).to.deep.equal(Object.keys(expected).sort());
  const comparable = (e: SnapshotEntry): object => ({
    type: e.type,
    mode: e.mode.toString(8),
    uid: e.uid,
    gid: e.gid,
    nlink: e.nlink,
    size: e.size,
    sha256: e.sha256,
    link: e.link,
    rdev: e.rdev,
    mtime: mtimeAt(e.mtime_ns, mtime),
    xattrs: xattrs ? e.xattrs : undefined,
  });
  const actualGroups = linkGroups(actual);
  const expectedGroups = linkGroups(expected);
  for (const [p, e] of Object.entries(expected)) {
    expect(comparable(actual[p]), p).to.deep.equal(comparable(e));
    expect(actualGroups.get(p), `hard links of ${p}`).to.deep.equal(expectedGroups.get(p));
  }
}

describe('Driver.applyDiff', () => {
  let t: TestRoot | undefined;
  let tree: string;
  let source: Record<string, SnapshotEntry>;

  before(() => {
    tree = path.join(fs.mkdtempSync('/tmp/aufs-test-'), 'tree');
    makeTree(tree);
    source = snapshot(tree);
  });

  after(() => fs.rmSync(path.dirname(tree), { recursive: true, force: true }));

  beforeEach(async () => {
    t = await newTestRoot();
  });

  afterEach(() => removeTestRoot(t));

  async function applyAndCompare(id: string, tar: Buffer, expectations: Expectations): Promise<void> {
    const { driver } = t!;
    await driver.create(id);
    const size = await driver.applyDiff(id, undefined, streamOf(tar));
    expectSameTree(snapshot(diffDir(t!, id)), source, expectations);
    expect(size).to.equal(await driver.diffSize(id));
  }

  describe('round trips', () => {
    it('restores a GNU tar pax archive exactly, xattrs and capabilities included', async () => {
      await applyAndCompare('pax', gnuTar(tree, ['--format=pax', '--xattrs', '--xattrs-include=*']), {
        xattrs: true,
        mtime: 'ns',
      });
      expect(source['bin/cap'].xattrs['security.capability']).to.include('80');
    });

    it('restores a GNU tar gnu-format archive (long names as L headers, whole-second times)', async () => {
      await applyAndCompare('gnu', gnuTar(tree, ['--format=gnu']), { xattrs: false, mtime: 's' });
    });

    it('restores gzip input', async () => {
      await applyAndCompare('gz', gzipSync(gnuTar(tree, ['--format=pax', '--xattrs', '--xattrs-include=*'])), {
        xattrs: true,
        mtime: 'ns',
      });
    });

    it("restores Python tarfile's pax and gnu archives", async () => {
      await applyAndCompare('py-pax', pythonTarOfTree(tree, 'pax'), { xattrs: false, mtime: 'us' });
      await applyAndCompare('py-gnu', pythonTarOfTree(tree, 'gnu'), { xattrs: false, mtime: 's' });
    });

    it("restores our own diff() of a layer, capabilities included", async () => {
      const { driver } = t!;
      await driver.create('original');
      await driver.applyDiff('original', undefined, streamOf(gnuTar(tree, ['--format=pax', '--xattrs', '--xattrs-include=*'])));
      await driver.create('copy');
      const size = await driver.applyDiff('copy', undefined, await driver.diff('original'));
      const copied = snapshot(diffDir(t!, 'copy'));
      // diff() writes whole seconds and carries security.capability only.
      expectSameTree(copied, source, { xattrs: false, mtime: 's' });
      for (const [p, e] of Object.entries(source)) {
        expect(copied[p].xattrs['security.capability'], p).to.equal(e.xattrs['security.capability']);
      }
      expect(size).to.equal(await driver.diffSize('original'));
    });

    it('restores the same with component-by-component path resolution', async () => {
      const { driver } = t!;
      await driver.create('walk');
      const tar = gnuTar(tree, ['--format=pax', '--xattrs', '--xattrs-include=*']);
      const size = await applyTar(diffDir(t!, 'walk'), streamOf(tar), { resolve: 'components' });
      expectSameTree(snapshot(diffDir(t!, 'walk')), source, { xattrs: true, mtime: 'ns' });
      expect(size).to.equal(await driver.diffSize('walk'));
    });

    it('takes any async iterable of bytes, in chunks of any size, gzip sniffed from a 1-byte chunk', async () => {
      const { driver } = t!;
      const tar = gnuTar(tree, ['--format=pax']);
      async function* oddChunks(data: Buffer): AsyncGenerator<Uint8Array> {
        yield new Uint8Array(data.subarray(0, 1));
        for (let offset = 1; offset < data.length; offset += 7777) {
          yield new Uint8Array(data.subarray(offset, offset + 7777));
        }
      }
      await driver.create('odd');
      await driver.applyDiff('odd', undefined, oddChunks(gzipSync(tar)));
      expectSameTree(snapshot(diffDir(t!, 'odd')), source, { xattrs: false, mtime: 'ns' });
    });
  });

  describe('from files', () => {
    function tarFile(name: string, data: Buffer): string {
      const file = path.join(t!.tmp, name);
      fs.writeFileSync(file, data);
      return file;
    }

    async function applyStream(id: string, stream: Readable): Promise<void> {
      await t!.driver.create(id);
      const size = await t!.driver.applyDiff(id, undefined, stream);
      expectSameTree(snapshot(diffDir(t!, id)), source, { xattrs: true, mtime: 'ns' });
      expect(size).to.equal(await t!.driver.diffSize(id));
    }

    const paxTar = (): Buffer => gnuTar(tree, ['--format=pax', '--xattrs', '--xattrs-include=*']);

    it("reads an untouched fs.ReadStream's file itself, never through the stream", async () => {
      const stream = fs.createReadStream(tarFile('layer.tar', paxTar()));
      await applyStream('file', stream);
      expect(stream.bytesRead).to.equal(0);
      expect(stream.destroyed).to.equal(true);
    });

    it("honours the stream's range: start and end, or the descriptor's position", async () => {
      const tar = paxTar();
      const junk = Buffer.alloc(1000, 0x41);
      const file = tarFile('embedded', Buffer.concat([junk, tar, junk]));
      const ranged = fs.createReadStream(file, { start: junk.length, end: junk.length + tar.length - 1 });
      await applyStream('range', ranged);
      expect(ranged.bytesRead).to.equal(0);

      const fd = fs.openSync(tarFile('after-junk', Buffer.concat([junk, tar])), 'r');
      fs.readSync(fd, Buffer.alloc(junk.length), 0, junk.length, null);
      const positioned = fs.createReadStream('', { fd });
      await applyStream('position', positioned);
      expect(positioned.bytesRead).to.equal(0);
    });

    it('streams gzip files, FIFOs and other streams', async () => {
      const gz = fs.createReadStream(tarFile('layer.tar.gz', gzipSync(paxTar())));
      await applyStream('gz', gz);
      expect(gz.bytesRead).to.be.greaterThan(0);

      const fifo = path.join(t!.tmp, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const writer = fs.createWriteStream(fifo);
      writer.end(paxTar());
      const fromFifo = fs.createReadStream(fifo);
      await applyStream('fifo', fromFifo);
      expect(fromFifo.bytesRead).to.be.greaterThan(0);
    });

    it('stops reading a file when aborted', async () => {
      const dir = path.join(t!.tmp, 'sparse');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'big'), '');
      fs.truncateSync(path.join(dir, 'big'), 256 << 20);
      const file = path.join(t!.tmp, 'big.tar');
      execFileSync('tar', ['-C', dir, '-cf', file, 'big']);
      const { driver } = t!;
      await driver.create('aborted');
      const controller = new AbortController();
      const stream = fs.createReadStream(file);
      const applying = driver.applyDiff('aborted', undefined, stream, { signal: controller.signal });
      const extracted = path.join(diffDir(t!, 'aborted'), 'big');
      await waitFor(() => fs.existsSync(extracted));
      controller.abort();
      await expectRejection(applying, 'ABORT_ERR');
      expect(stream.bytesRead).to.equal(0);
      expect(fs.statSync(extracted).size).to.be.below(256 << 20);
      await driver.remove('aborted');
    });
  });

  it('writes aufs whiteouts and opaque markers verbatim, as the files they are', async () => {
    const { driver } = t!;
    await driver.create('wh');
    const tar = pythonTar([
      { name: 'dir', type: 'dir' },
      { name: 'dir/.wh..wh..opq', mode: 0o444 },
      { name: '.wh.gone', mode: 0o444 },
      { name: 'dir/.wh.x', data: 'kept as is' },
    ]);
    await driver.applyDiff('wh', undefined, streamOf(tar));
    const layer = snapshot(diffDir(t!, 'wh'));
    expect(Object.keys(layer).sort()).to.deep.equal(['.wh.gone', 'dir', 'dir/.wh..wh..opq', 'dir/.wh.x']);
    expect(layer['dir/.wh..wh..opq']).to.include({ type: 'file', mode: 0o444, size: 0 });
    expect(layer['.wh.gone']).to.include({ type: 'file', mode: 0o444 });
    expect(fs.readFileSync(path.join(diffDir(t!, 'wh'), 'dir/.wh.x'), 'utf8')).to.equal('kept as is');
  });

  it('sets xattrs from SCHILY.xattr records, binary values intact, overlay bookkeeping left out', async () => {
    const { driver } = t!;
    await driver.create('xa');
    const tar = pythonTar([
      { name: 'f', data: 'x', xattrs: { 'user.raw': '00ff80c3', 'security.capability': source['bin/cap'].xattrs['security.capability'] } },
      { name: 'd', type: 'dir', xattrs: { 'user.dir': '01', 'trusted.overlay.opaque': '79' } },
    ]);
    await driver.applyDiff('xa', undefined, streamOf(tar));
    const layer = snapshot(diffDir(t!, 'xa'));
    expect(layer.f.xattrs).to.deep.equal({
      'security.capability': source['bin/cap'].xattrs['security.capability'],
      'user.raw': '00ff80c3',
    });
    expect(layer.d.xattrs).to.deep.equal({ 'user.dir': '01' });
  });

  it('replaces non-directories and merges directories already in the layer', async () => {
    const { driver } = t!;
    await driver.create('over');
    const dir = diffDir(t!, 'over');
    fs.writeFileSync(path.join(dir, 'a'), 'file that becomes a directory');
    fs.mkdirSync(path.join(dir, 'b'));
    fs.writeFileSync(path.join(dir, 'b/old'), 'directory that becomes a file');
    fs.mkdirSync(path.join(dir, 'c'), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'c/old'), 'stays');
    fs.symlinkSync('/etc/passwd', path.join(dir, 's'));
    fs.writeFileSync(path.join(dir, 'f'), 'old content');
    fs.linkSync(path.join(dir, 'f'), path.join(dir, 'f-other-link'));
    const tar = pythonTar([
      { name: 'a', type: 'dir', mode: 0o750 },
      { name: 'a/inner', data: 'in a' },
      { name: 'b', data: 'now a file' },
      { name: 'c', type: 'dir', mode: 0o700, uid: 5, gid: 6 },
      { name: 'c/new', data: 'new' },
      { name: 's', data: 'no longer a symlink' },
      { name: 'f', data: 'new content' },
    ]);
    const size = await driver.applyDiff('over', undefined, streamOf(tar));
    const layer = snapshot(dir);
    expect(layer.a).to.include({ type: 'dir', mode: 0o750 });
    expect(layer.b).to.include({ type: 'file' });
    expect(fs.readFileSync(path.join(dir, 'b'), 'utf8')).to.equal('now a file');
    expect(layer.c).to.include({ type: 'dir', mode: 0o700, uid: 5, gid: 6 });
    expect(fs.readFileSync(path.join(dir, 'c/old'), 'utf8')).to.equal('stays');
    expect(fs.readFileSync(path.join(dir, 'c/new'), 'utf8')).to.equal('new');
    expect(layer.s.type).to.equal('file');
    expect(fs.readFileSync(path.join(dir, 'f'), 'utf8')).to.equal('new content');
    // Replaced by unlinking, not by truncating a file that another name shares.
    expect(fs.readFileSync(path.join(dir, 'f-other-link'), 'utf8')).to.equal('old content');
    expect(size).to.equal(await driver.diffSize('over'));
  });

  it('creates missing parent directories 0755 and lets later entries replace earlier ones', async () => {
    const { driver } = t!;
    await driver.create('parents');
    const tar = pythonTar([
      { name: './deep/er/file', data: 'x' },
      { name: '/abs/file', data: 'stays inside' },
      { name: 'twice', data: 'first' },
      { name: 'twice', data: 'second' },
      { name: 'dir', type: 'dir' },
      { name: 'dir/x', data: 'x' },
      { name: 'dir', type: 'symlink', linkname: 'elsewhere' },
    ]);
    const size = await driver.applyDiff('parents', undefined, streamOf(tar));
    const layer = snapshot(diffDir(t!, 'parents'));
    expect(layer.deep).to.include({ type: 'dir', mode: 0o755, uid: 0 });
    expect(layer['deep/er']).to.include({ type: 'dir', mode: 0o755 });
    expect(layer['abs/file']).to.include({ type: 'file' });
    expect(fs.readFileSync(path.join(diffDir(t!, 'parents'), 'twice'), 'utf8')).to.equal('second');
    expect(layer.dir).to.include({ type: 'symlink', link: 'elsewhere' });
    expect(layer['dir/x']).to.equal(undefined);
    expect(size).to.equal(await driver.diffSize('parents'));
  });

  it('extracts thousands of small files arriving in arbitrary chunks', async () => {
    const { driver } = t!;
    await driver.create('many');
    const entries = Array.from({ length: 3000 }, (_, i) => ({ name: `d${i % 7}/f${i}`, data: `file ${i}\n`.repeat(i % 50) }));
    const size = await driver.applyDiff('many', undefined, streamOf(pythonTar(entries), 1000));
    for (const i of [0, 1, 999, 2999]) {
      expect(fs.readFileSync(path.join(diffDir(t!, 'many'), `d${i % 7}/f${i}`), 'utf8')).to.equal(`file ${i}\n`.repeat(i % 50));
    }
    expect(size).to.equal(entries.reduce((sum, e) => sum + Buffer.byteLength(e.data), 0));
    expect(size).to.equal(await driver.diffSize('many'));
  });

  it('accepts an empty input and a bare end-of-archive as empty layers', async () => {
    const { driver } = t!;
    await driver.create('empty');
    expect(await driver.applyDiff('empty', undefined, Readable.from([]))).to.equal(0);
    expect(await driver.applyDiff('empty', undefined, streamOf(Buffer.alloc(10240)))).to.equal(0);
    expect(fs.readdirSync(diffDir(t!, 'empty'))).to.deep.equal([]);
  });

  it('rejects unknown and invalid ids before reading', async () => {
    const { driver } = t!;
    const stream = streamOf(pythonTar([{ name: 'f' }]));
    await expectRejection(driver.applyDiff('missing', undefined, stream), 'ERR_LAYER_NOT_FOUND');
    await expectRejection(driver.applyDiff('../x', undefined, stream), 'ERR_INVALID_ID');
    expect(stream.readableEnded).to.equal(false);
  });

  it('rejects chunks that are not bytes, and the layer stays removable', async () => {
    const { driver } = t!;
    await driver.create('strings');
    const err = await rejection(driver.applyDiff('strings', undefined, Readable.from(['not', 'bytes'])));
    expect(err).to.be.instanceOf(TypeError);
    await driver.remove('strings');
  });

  describe('corrupt input', () => {
    const cases: Array<[string, () => Buffer]> = [
      ['a tar cut inside file data', () => pythonTar([{ name: 'f', data: 'x'.repeat(5000) }]).subarray(0, 2048)],
      ['a tar cut inside a header', () => pythonTar([{ name: 'a', data: 'x' }, { name: 'b' }]).subarray(0, 1024 + 100)],
      ['a tar cut inside a pax header', () => pythonTar([{ name: 'p'.repeat(300), data: 'x' }]).subarray(0, 600)],
      ['a tar that ends after a pax header', () => pythonTar([{ name: 'p'.repeat(300), data: 'x' }]).subarray(0, 1024)],
      ['random bytes', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251))],
      ['a header with a bad checksum', () => corruptByte(pythonTar([{ name: 'f', data: 'x' }]), 10)],
      ['a corrupt gzip stream', () => corruptByte(gzipSync(pythonTar([{ name: 'f', data: 'x'.repeat(10000) }])), 40)],
      ['a truncated gzip stream', () => gzipSync(pythonTar([{ name: 'f', data: 'x'.repeat(10000) }])).subarray(0, 30)],
      ['a GNU sparse file', () => execFileSync('sh', ['-c', 'd=$(mktemp -d) && truncate -s 1M $d/s && tar -C $d --format=gnu -S -cf - s; rm -rf $d'])],
    ];
    for (const [what, make] of cases) {
      it(`rejects ${what} with ERR_TAR_INVALID, the layer removable`, async () => {
        const { driver } = t!;
        await driver.create('bad');
        const err = await expectRejection(driver.applyDiff('bad', undefined, streamOf(make())), 'ERR_TAR_INVALID');
        expect(err).to.have.property('path', diffDir(t!, 'bad'));
        await driver.remove('bad');
        expect(fs.existsSync(diffDir(t!, 'bad'))).to.equal(false);
      });
    }
  });

  describe('abort', () => {
    it('rejects with AbortError at once when the signal is already aborted, reading nothing', async () => {
      const { driver } = t!;
      await driver.create('pre');
      const reason = new Error('stop');
      const stream = streamOf(pythonTar([{ name: 'f', data: 'x' }]));
      const err = await expectRejection(
        driver.applyDiff('pre', undefined, stream, { signal: AbortSignal.abort(reason) }),
        'ABORT_ERR',
      );
      expect(err).to.have.property('cause', reason);
      expect(fs.readdirSync(diffDir(t!, 'pre'))).to.deep.equal([]);
    });

    it('stops while the source is waiting for data, and destroys it', async () => {
      const { driver } = t!;
      await driver.create('stalled');
      const tar = pythonTar([{ name: 'a', data: 'a' }, { name: 'b', data: 'x'.repeat(100000) }]);
      const stream = new Readable({ read() {} });
      stream.push(tar.subarray(0, 4096));
      const controller = new AbortController();
      const applying = driver.applyDiff('stalled', undefined, stream, { signal: controller.signal });
      await waitFor(() => fs.existsSync(path.join(diffDir(t!, 'stalled'), 'a')));
      controller.abort();
      await expectRejection(applying, 'ABORT_ERR');
      expect(stream.destroyed).to.equal(true);
      await driver.remove('stalled');
      expect(fs.existsSync(diffDir(t!, 'stalled'))).to.equal(false);
    });

    it('stops in the middle of a large extraction, the layer removable', async () => {
      const { driver } = t!;
      await driver.create('mid');
      const controller = new AbortController();
      const tar = pythonTar(Array.from({ length: 200 }, (_, i) => ({ name: `f${i}`, data_hex: 'ab'.repeat(64 * 1024) })));
      async function* slowly(): AsyncGenerator<Uint8Array> {
        for (let offset = 0; offset < tar.length; offset += 256 * 1024) {
          if (offset === 4 << 20) controller.abort();
          yield tar.subarray(offset, offset + 256 * 1024);
        }
      }
      await expectRejection(driver.applyDiff('mid', undefined, slowly(), { signal: controller.signal }), 'ABORT_ERR');
      expect(fs.readdirSync(diffDir(t!, 'mid')).length).to.be.within(1, 199);
      await driver.remove('mid');
    });
  });
});

function corruptByte(data: Buffer, offset: number): Buffer {
  const copy = Buffer.from(data);
  copy[offset] ^= 0x55;
  return copy;
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
