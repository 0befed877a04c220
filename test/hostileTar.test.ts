// Archives built to escape the layer. Whatever they try, nothing outside
// diff/ID may change, and the layer must stay removable. Every case runs with
// both ways of resolving paths: openat2 and the component-by-component walk.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { applyTar } from '../src/archive/apply';
import {
  diffDir,
  expectRejection,
  newTestRoot,
  pythonTar,
  removeTestRoot,
  snapshot,
  streamOf,
  type TarSpecEntry,
  type TestRoot,
} from './tarSupport';

/**
 * Extractions raced by a renamer swapping a path component for a symlink;
 * under the sanitizers too, since fewer rounds may see no swap at all.
 */
const RACE_ROUNDS = 20;
const ID = 'layer';

interface Scene {
  t: TestRoot;
  layer: string;
  /** Sentinel files beside the driver root; `..` x3 from the layer reaches its parent. */
  outside: string;
  /** The same, as a layer-relative path that climbs out. */
  outsideRel: string;
}

function statOf(file: string): object {
  const st = fs.lstatSync(file, { bigint: true });
  return { ino: st.ino, nlink: st.nlink, mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtimeNs, ctime: st.ctimeNs };
}

for (const mode of ['openat2', 'components'] as const) {
  describe(`hostile tars (${mode} resolution)`, () => {
    let scene: Scene | undefined;
    let before: { sentinel: object; passwd: object };

    function apply(tar: Buffer): Promise<number> {
      const { t, layer } = scene!;
      return mode === 'openat2'
        ? t.driver.applyDiff(ID, undefined, streamOf(tar))
        : applyTar(layer, streamOf(tar), { resolve: mode });
    }

    function world(): { sentinel: object; passwd: object } {
      return { sentinel: snapshot(path.dirname(scene!.outside)), passwd: statOf('/etc/passwd') };
    }

    beforeEach(async () => {
      const t = await newTestRoot();
      await t.driver.create(ID);
      const outside = path.join(t.tmp, 'sentinel', 'outside');
      fs.mkdirSync(path.join(outside, 'dir'), { recursive: true });
      fs.writeFileSync(path.join(outside, 'file'), 'sentinel', { mode: 0o640 });
      fs.writeFileSync(path.join(outside, 'dir', 'inner'), 'sentinel too');
      scene = { t, layer: diffDir(t, ID), outside, outsideRel: '../../../sentinel/outside' };
      before = world();
    });

    afterEach(async () => {
      const { t, layer } = scene!;
      expect(world(), 'nothing outside the layer changed').to.deep.equal(before);
      await t.driver.remove(ID);
      expect(fs.existsSync(layer), 'the layer was removable').to.equal(false);
      removeTestRoot(t);
    });

    async function expectBreakout(entries: TarSpecEntry[], entryName: string): Promise<void> {
      const err = await expectRejection(apply(pythonTar(entries)), 'ERR_TAR_BREAKOUT');
      expect(err.message).to.include(JSON.stringify(entryName));
      expect(err).to.have.property('path', scene!.layer);
    }

    describe('names', () => {
      it('refuses ".." that climbs out', async () => {
        await expectBreakout([{ name: `${scene!.outsideRel}/pwned`, data: 'x' }], `${scene!.outsideRel}/pwned`);
        await expectBreakout([{ name: 'a/../../pwned', data: 'x' }], 'a/../../pwned');
      });

      it('keeps absolute names inside the layer, as GNU tar does', async () => {
        const name = path.join(scene!.outside, 'pwned');
        await apply(pythonTar([{ name, data: 'inside' }]));
        expect(fs.readFileSync(path.join(scene!.layer, name), 'utf8')).to.equal('inside');
      });

      it('allows ".." that stays inside', async () => {
        await apply(pythonTar([{ name: 'a/b/../c', data: 'x' }]));
        expect(fs.readFileSync(path.join(scene!.layer, 'a/c'), 'utf8')).to.equal('x');
      });

      it('refuses any entry but a directory for the layer root, and ignores that one', async () => {
        await expectBreakout([{ name: '.', type: 'symlink', linkname: scene!.outside }], '.');
        await expectBreakout([{ name: './', type: 'file', data: 'x' }], './');
        await apply(pythonTar([{ name: './', type: 'dir', mode: 0o777, uid: 4242 }]));
        expect(fs.statSync(scene!.layer)).to.include({ mode: 0o40755, uid: 0 });
      });
    });

    describe('symlinks', () => {
      it('creates symlinks pointing anywhere, as data, but never writes through them', async () => {
        for (const target of [scene!.outside, scene!.outsideRel]) {
          await expectBreakout(
            [
              { name: 'evil', type: 'symlink', linkname: target },
              { name: 'evil/pwned', data: 'x' },
            ],
            'evil/pwned',
          );
          expect(fs.readlinkSync(path.join(scene!.layer, 'evil'))).to.equal(target);
        }
      });

      it('does not follow chained symlinks', async () => {
        const chain: TarSpecEntry[] = [
          { name: 'a', type: 'symlink', linkname: 'b' },
          { name: 'b', type: 'symlink', linkname: '../..' },
        ];
        await expectBreakout([...chain, { name: 'a/pwned', data: 'x' }], 'a/pwned');
        await expectBreakout([...chain, { name: 'b/root/pwned', data: 'x' }], 'b/root/pwned');
      });

      it('makes no entry of any type below a symlink', async () => {
        const evil: TarSpecEntry = { name: 'evil', type: 'symlink', linkname: scene!.outside };
        const through: TarSpecEntry[] = [
          { name: 'evil/dir', type: 'dir' },
          { name: 'evil/s', type: 'symlink', linkname: 'x' },
          { name: 'evil/fifo', type: 'fifo' },
          { name: 'evil/null', type: 'chr', devmajor: 1, devminor: 3 },
          { name: 'evil/dir/deeper/file', data: 'x' },
        ];
        // tarfile writes directory names with a trailing slash.
        for (const entry of through) await expectBreakout([evil, entry], entry.type === 'dir' ? `${entry.name}/` : entry.name);
        await expectBreakout([evil, { name: 'f', data: 'x' }, { name: 'evil/hl', type: 'link', linkname: 'f' }], 'evil/hl');
      });

      it('replaces a symlink by a directory entry of the same name instead of chmod/chown through it', async () => {
        await apply(
          pythonTar([
            { name: 'evil', type: 'symlink', linkname: scene!.outside },
            { name: 'evil', type: 'dir', mode: 0o777, uid: 4242, gid: 4242 },
            { name: 'evil/file', data: 'in the layer' },
          ]),
        );
        expect(fs.lstatSync(path.join(scene!.layer, 'evil'))).to.include({ mode: 0o40777, uid: 4242 });
        expect(fs.readFileSync(path.join(scene!.layer, 'evil/file'), 'utf8')).to.equal('in the layer');
      });

      it('replaces symlinks the layer already held instead of following them', async () => {
        fs.symlinkSync(scene!.outside, path.join(scene!.layer, 'dirlink'));
        fs.symlinkSync(path.join(scene!.outside, 'file'), path.join(scene!.layer, 'filelink'));
        await apply(
          pythonTar([
            { name: 'dirlink', type: 'dir', mode: 0o700, uid: 4242 },
            { name: 'filelink', data: 'replaced', mode: 0o4777, uid: 4242 },
          ]),
        );
        expect(fs.lstatSync(path.join(scene!.layer, 'dirlink')).isDirectory()).to.equal(true);
        expect(fs.readFileSync(path.join(scene!.layer, 'filelink'), 'utf8')).to.equal('replaced');
      });

      it('refuses a symlink the layer already held as a parent directory', async () => {
        fs.symlinkSync(scene!.outside, path.join(scene!.layer, 'sub'));
        await expectBreakout([{ name: 'sub/pwned', data: 'x' }], 'sub/pwned');
        await expectBreakout([{ name: 'sub/file', type: 'dir', mode: 0o777 }], 'sub/file/');
      });
    });

    describe('hard links', () => {
      it('refuses links that climb out, or to host files', async () => {
        await expectBreakout([{ name: 'link', type: 'link', linkname: `${scene!.outsideRel}/file` }], 'link');
        await expectBreakout([{ name: 'link', type: 'link', linkname: '/etc/passwd' }], 'link');
      });

      it('refuses links to anything but an earlier entry of the same archive', async () => {
        await expectBreakout(
          [
            { name: 'link', type: 'link', linkname: 'later' },
            { name: 'later', data: 'x' },
          ],
          'link',
        );
        fs.writeFileSync(path.join(scene!.layer, 'existing'), 'was in the layer');
        await expectBreakout([{ name: 'link', type: 'link', linkname: 'existing' }], 'link');
        await expectBreakout(
          [
            { name: 'evil', type: 'symlink', linkname: scene!.outside },
            { name: 'link', type: 'link', linkname: 'evil/file' },
          ],
          'link',
        );
      });

      it('links to earlier entries', async () => {
        await apply(
          pythonTar([
            { name: 'a/f', data: 'shared' },
            { name: 'b/link', type: 'link', linkname: 'a/f' },
            { name: 'self', data: 'x' },
            { name: 'self', type: 'link', linkname: 'self' },
          ]),
        );
        const a = fs.statSync(path.join(scene!.layer, 'a/f'));
        expect(fs.statSync(path.join(scene!.layer, 'b/link')).ino).to.equal(a.ino);
        expect(fs.readFileSync(path.join(scene!.layer, 'self'), 'utf8')).to.equal('x');
      });
    });

    describe('limits', () => {
      it('bounds nesting depth, name and link lengths, and pax header size', async () => {
        const cases: Array<[string, TarSpecEntry[], 'pax' | 'gnu']> = [
          ['nesting', [{ name: `${'d/'.repeat(300)}f`, data: 'x' }], 'pax'],
          ['pax name', [{ name: 'n'.repeat(5000), data: 'x' }], 'pax'],
          ['GNU long name', [{ name: 'n'.repeat(5000), data: 'x' }], 'gnu'],
          ['link target', [{ name: 's', type: 'symlink', linkname: 't'.repeat(5000) }], 'pax'],
          ['pax header', [{ name: 'f', data: 'x', pax: { comment: 'c'.repeat(2 << 20) } }], 'pax'],
        ];
        for (const [what, entries, format] of cases) {
          const err = await expectRejection(apply(pythonTar(entries, format)), 'ERR_TAR_LIMIT');
          expect(err.message, what).to.match(/limit|deeper/);
        }
        expect(fs.readdirSync(scene!.layer)).to.deep.equal([]);
      });

      it('accepts what is just within the limits', async () => {
        await apply(
          pythonTar([
            { name: `${'d/'.repeat(255)}f`, data: 'x' },
            { name: `${'n'.repeat(200)}/${'n'.repeat(200)}`, data: 'x' },
            { name: 'f', data: 'x', pax: { comment: 'c'.repeat(1000 * 1000) } },
          ]),
        );
        expect(fs.readFileSync(path.join(scene!.layer, `${'d/'.repeat(255)}f`), 'utf8')).to.equal('x');
      });
    });

    it('stays inside while a path component is swapped for a symlink during extraction', async function () {
      const { layer, outside } = scene!;
      const entries: TarSpecEntry[] = [{ name: 'd', type: 'dir' }, { name: 'd/s', type: 'dir' }];
      for (let i = 0; i < 3000; i++) entries.push({ name: i % 2 === 0 ? `d/f${i}` : `d/s/f${i}`, data: 'x' });
      const tar = pythonTar(entries);
      const outcomes = new Set<string>();
      let swaps = 0;
      for (let round = 0; round < RACE_ROUNDS; round++) {
        const renamer = startRenamer(layer, outside);
        const outcome = await apply(tar).then(
          () => 'ok',
          (err: { code?: string }) => String(err.code),
        );
        swaps += await renamer.stop();
        outcomes.add(outcome);
        expect(world(), `round ${round}`).to.deep.equal(before);
        fs.rmSync(layer, { recursive: true, force: true });
        fs.mkdirSync(layer, { mode: 0o755 });
      }
      expect(swaps, 'the renamer swapped components').to.be.greaterThan(0);
      // Success, a refusal, or a failed syscall (ENOENT when a directory moved away): never anything else.
      for (const outcome of outcomes) expect(outcome).to.match(/^(ok|ERR_TAR_BREAKOUT|E[A-Z]+)$/);
    });
  });
}

/**
 * A worker thread that, until stopped, keeps replacing `layer/d` with a
 * symlink to `outside` and putting the directory back, by renames inside
 * the layer. Resolves stop() to how many swaps it made.
 */
function startRenamer(layer: string, outside: string): { stop(): Promise<number> } {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const code = `
    const fs = require('node:fs');
    const path = require('node:path');
    const { workerData, parentPort } = require('node:worker_threads');
    const { layer, outside, flag } = workerData;
    const at = (name) => path.join(layer, name);
    let swaps = 0;
    const attempt = (fn) => { try { fn(); return true; } catch { return false; } };
    while (Atomics.load(flag, 0) === 0) {
      if (!attempt(() => fs.renameSync(at('d'), at('d.real')))) continue;
      attempt(() => fs.symlinkSync(outside, at('d.tmp')));
      if (attempt(() => fs.renameSync(at('d.tmp'), at('d')))) swaps++;
      attempt(() => fs.renameSync(at('d'), at('d.sym')));
      attempt(() => fs.renameSync(at('d.real'), at('d')));
      attempt(() => fs.unlinkSync(at('d.sym')));
    }
    parentPort.postMessage(swaps);
  `;
  const worker = new Worker(code, { eval: true, workerData: { layer, outside, flag } });
  const done = new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    async stop() {
      Atomics.store(flag, 0, 1);
      const swaps = await done;
      await worker.terminate();
      return swaps;
    },
  };
}
