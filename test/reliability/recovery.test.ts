// The crash points the kill -9 test reaches by chance, reached on purpose:
// an applyDiff that did not finish, a put() that unmounted but did not tidy,
// markers left without layers.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';

import { init, unmount, type Driver } from '../../src';
import { PROGRAM_OPTIONS, describeTree, mountsUnder, programDriver, rejection, scratchDir, writeTree } from '../helpers/fixtures';
import { pythonTar, streamOf } from '../tarSupport';

describe('reliability: recovery from interrupted work', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let root: string;
  let driver: Driver;
  const diff = (id: string): string => path.join(root, 'diff', id);
  const marker = (id: string): string => path.join(root, 'incomplete', id);

  beforeEach(async () => {
    scratch = scratchDir('aufs-recovery-');
    root = path.join(scratch.dir, 'root');
    driver = await programDriver(root);
  });
  afterEach(() => scratch.dispose());

  const tar = pythonTar([
    { name: 'dir', type: 'dir' },
    { name: 'dir/a', data: 'a'.repeat(10_000) },
    { name: 'dir/b', data: 'b' },
  ]);

  describe('incomplete layers', () => {
    it('lists a layer from before its applyDiff extracts anything until its files are on disk', async () => {
      await driver.create('img');
      const source = new PassThrough();
      source.write(tar.subarray(0, 512));
      const applying = driver.applyDiff('img', undefined, source);
      // The first header is in; the marker was made before it was read.
      while (!existsSync(marker('img'))) await new Promise((resolve) => setImmediate(resolve));
      expect(await driver.incomplete()).to.deep.equal(['img']);
      source.end(tar.subarray(512));
      expect(await applying).to.equal(10_001);
      expect(await driver.incomplete()).to.deep.equal([]);
      expect(readdirSync(path.join(root, 'incomplete'))).to.deep.equal([]);
    });

    it('keeps a failed or aborted applyDiff listed until the layer is removed or applied whole', async () => {
      await driver.create('cut');
      await driver.create('aborted');
      await driver.create('fine');
      const cut = await rejection(driver.applyDiff('cut', undefined, streamOf(tar.subarray(0, 1024 + 700))));
      expect(cut.code).to.equal('ERR_TAR_INVALID');
      const controller = new AbortController();
      const endless = new PassThrough();
      endless.write(tar.subarray(0, 1024));
      const aborted = driver.applyDiff('aborted', undefined, endless, { signal: controller.signal });
      while (!existsSync(marker('aborted'))) await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      expect((await rejection(aborted)).name).to.equal('AbortError');
      await driver.applyDiff('fine', undefined, streamOf(tar));
      expect((await driver.incomplete()).sort()).to.deep.equal(['aborted', 'cut']);

      // A new process sees the same.
      await driver.close();
      const restarted = await init(root, PROGRAM_OPTIONS);
      expect((await restarted.incomplete()).sort()).to.deep.equal(['aborted', 'cut']);
      await restarted.applyDiff('cut', undefined, streamOf(tar));
      await restarted.remove('aborted');
      expect(await restarted.incomplete()).to.deep.equal([]);
      expect(readdirSync(path.join(root, 'incomplete'))).to.deep.equal([]);
      expect(describeTree(diff('cut'))).to.deep.equal(describeTree(diff('fine')));
    });

    it('does not mark a layer for arguments refused before extraction', async () => {
      await driver.create('img');
      expect((await rejection(driver.applyDiff('img', undefined, 42 as never))).code).to.equal('ERR_INVALID_ARG_TYPE');
      expect((await rejection(driver.applyDiff('img', undefined, streamOf(tar), { signal: 1 as never }))).code).to.equal(
        'ERR_INVALID_ARG_TYPE',
      );
      expect((await rejection(driver.applyDiff('nope', undefined, streamOf(tar)))).code).to.equal('ERR_LAYER_NOT_FOUND');
      expect(readdirSync(path.join(root, 'incomplete'))).to.deep.equal([]);
    });

    it('drops markers of layers a crashed remove left, on init and on create', async () => {
      await driver.create('gone');
      await driver.create('kept');
      // A remove killed after layers/ID went, and a marker of a layer that is back.
      unlinkSync(path.join(root, 'layers', 'gone'));
      writeFileSync(marker('gone'), '');
      writeFileSync(marker('kept'), '');
      await driver.close();
      const restarted = await init(root, PROGRAM_OPTIONS);
      expect(readdirSync(path.join(root, 'incomplete'))).to.deep.equal(['kept']);
      expect(await restarted.incomplete()).to.deep.equal(['kept']);
      expect(existsSync(diff('gone'))).to.equal(false);

      // Without an init in between, create() starts the id afresh.
      await restarted.remove('kept');
      writeFileSync(marker('kept'), '');
      await restarted.create('kept');
      expect(await restarted.incomplete()).to.deep.equal([]);
    });
  });

  describe('layers unmounted but not tidied', () => {
    it('finishes the whiteout conversion of a put() that died between unmount and conversion', async () => {
      await driver.create('base');
      writeTree(diff('base'), { gone: 'x', kept: 'y', 'dir/old': 'z' });
      await driver.create('ctr', 'base');
      const mnt = await driver.get('ctr');
      unlinkSync(path.join(mnt, 'gone'));
      execFileSync('rm', ['-r', path.join(mnt, 'dir')]);
      mkdirSync(path.join(mnt, 'dir'));
      // What put() does first; the process dies before the rest.
      await unmount(mnt);
      await driver.close({ keepMounts: true });
      expect(describeTree(diff('ctr'))).to.include({ gone: 'chr:0:0' });

      const restarted = await init(root, PROGRAM_OPTIONS);
      expect(describeTree(diff('ctr'))).to.deep.equal({ '.wh.gone': 'file:', 'dir/': 'dir', 'dir/.wh..wh..opq': 'file:' });
      expect(readdirSync(path.join(root, 'work'))).to.deep.equal([]);
      // The layer mounts as before.
      expect(readdirSync(await restarted.get('ctr')).sort()).to.deep.equal(['dir', 'kept']);
      await restarted.put('ctr');
    });

    it('keeps work/ID only while a layer may hold overlay-form whiteouts', async () => {
      await driver.create('base');
      await driver.create('ctr', 'base');
      expect(readdirSync(path.join(root, 'work'))).to.deep.equal([]);
      await driver.get('ctr');
      expect(readdirSync(path.join(root, 'work'))).to.deep.equal(['ctr']);
      await driver.put('ctr');
      expect(readdirSync(path.join(root, 'work'))).to.deep.equal([]);
      expect(mountsUnder(root)).to.deep.equal([]);
    });
  });
});
