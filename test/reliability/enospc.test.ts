// A full disk: a root on a 20 MB tmpfs, a 50 MB layer applied into it. The
// apply fails with ENOSPC, the layer is marked incomplete and removable, the
// other layers keep every byte, and the store works again once there is room.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';

import { init, type Driver } from '../../src';
import { PROGRAM_OPTIONS, rejection, scratchDir } from '../helpers/fixtures';
import { pythonTar, snapshot, streamOf } from '../tarSupport';
import { writeLayerTar } from './support/layerTar';
import { STORE_DIRS, entriesOf } from './support/storeCheck';

const SMALL_TAR = pythonTar([
  { name: 'etc', type: 'dir' },
  { name: 'etc/config', data: 'kept\n'.repeat(1000) },
  { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
  { name: 'big', data_hex: 'ab'.repeat(1 << 20) },
]);

describe('reliability: a full filesystem (ENOSPC)', function () {
  let scratch: ReturnType<typeof scratchDir>;
  let disk: string;
  let bigTar: string;
  let driver: Driver;

  before(async () => {
    scratch = scratchDir('aufs-enospc-');
    bigTar = path.join(scratch.dir, 'layer.tar');
    await writeLayerTar(bigTar, 1);
  });
  after(() => scratch.dispose());

  beforeEach(async () => {
    disk = path.join(scratch.dir, `disk-${Date.now()}`);
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', disk]);
    driver = await init(path.join(disk, 'root'), PROGRAM_OPTIONS);
    await driver.create('kept');
    await driver.applyDiff('kept', undefined, streamOf(SMALL_TAR));
    await driver.create('child', 'kept');
  });
  afterEach(async () => {
    await driver.close();
    execFileSync('umount', [disk]);
  });

  const freeBytes = (): number => {
    const st = statfsSync(disk);
    return st.bavail * st.bsize;
  };

  for (const [how, source] of [
    ['read from the file by the addon', () => createReadStream(bigTar)],
    ['streamed through JavaScript', () => createReadStream(bigTar).pipe(new PassThrough())],
  ] as const) {
    it(`fails an applyDiff ${how} with ENOSPC, and loses nothing else`, async () => {
      const before = { kept: snapshot(path.join(driver.root, 'diff', 'kept')), free: freeBytes() };
      const err = await rejection(driver.applyDiff('child', 'kept', source()));
      expect(err.code, err.stack).to.equal('ENOSPC');
      expect(err.message).to.match(/^ENOSPC: no space left on device, write '.*\/diff\/child\//);
      expect(err.path?.startsWith(path.join(driver.root, 'diff', 'child'))).to.equal(true);
      expect(await driver.incomplete()).to.deep.equal(['child']);

      await driver.remove('child');
      expect(await driver.incomplete()).to.deep.equal([]);
      expect(snapshot(path.join(driver.root, 'diff', 'kept'))).to.deep.equal(before.kept);
      expect(freeBytes(), 'space given back').to.be.at.least(before.free);
      for (const dir of STORE_DIRS) {
        expect(entriesOf(driver.root, dir).filter((name) => name !== 'kept'), dir).to.deep.equal([]);
      }
      // With room again, the same id works.
      await driver.create('child', 'kept');
      await driver.applyDiff('child', 'kept', streamOf(SMALL_TAR));
      expect(await driver.incomplete()).to.deep.equal([]);
    });
  }

  it('fails a create on a full disk with ENOSPC and leaves nothing behind', async () => {
    const before = Object.keys(snapshot(driver.root));
    const filler = path.join(disk, 'filler');
    expect(() => writeFileSync(filler, Buffer.alloc(32 << 20))).to.throw(/ENOSPC/);
    const err = await rejection(driver.create('late', 'kept'));
    expect(err.code, err.stack).to.equal('ENOSPC');
    expect(await driver.exists('late')).to.equal(false);
    expect(Object.keys(snapshot(driver.root))).to.deep.equal(before);
    execFileSync('rm', [filler]);
    await driver.create('late', 'kept');
    expect(readdirSync(path.join(driver.root, 'diff', 'late'))).to.deep.equal([]);
  });
});
