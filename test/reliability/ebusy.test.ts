// Busy mounts. test/lifecycle.test.ts covers put/remove/unmount failing with
// EBUSY after the retries and working once released; here, a holder that
// leaves during the retries, and mounts busy where remove() and init() do
// not expect them: inside a layer's own directory.
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { init, type Driver } from '../../src';
import { PROGRAM_OPTIONS, mountsUnder, programDriver, rejection, scratchDir } from '../helpers/fixtures';
import { STORE_DIRS, entriesOf } from './support/storeCheck';

/** A process whose working directory is `dir`: what keeps a mount busy. */
function holdBusy(dir: string): ChildProcess {
  return spawn('sleep', ['60'], { cwd: dir, stdio: 'ignore' });
}

async function release(holder: ChildProcess): Promise<void> {
  const exited = once(holder, 'exit');
  holder.kill('SIGKILL');
  await exited;
}

describe('reliability: busy mounts (EBUSY)', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let root: string;
  let driver: Driver;

  beforeEach(async () => {
    scratch = scratchDir('aufs-ebusy-');
    root = path.join(scratch.dir, 'root');
    driver = await programDriver(root);
    await driver.create('base');
    writeFileSync(path.join(root, 'diff', 'base', 'file'), 'base');
    await driver.create('ctr', 'base');
  });
  afterEach(() => scratch.dispose());

  for (const call of ['put', 'remove'] as const) {
    it(`${call}() waits out a holder that leaves during the retries`, async () => {
      const mnt = await driver.get('ctr');
      const holder = holdBusy(mnt);
      await once(holder, 'spawn');
      const events: string[] = [];
      const released = delay(250).then(async () => {
        await release(holder);
        events.push('released');
      });
      await driver[call]('ctr');
      events.push(call);
      await released;
      expect(events).to.deep.equal(['released', call]);
      expect(mountsUnder(root)).to.deep.equal([]);
      expect(await driver.exists('ctr')).to.equal(call === 'put');
    });
  }

  it('keeps a layer whose remove() failed with EBUSY whole, and removes it all once released', async () => {
    const mnt = await driver.get('ctr');
    writeFileSync(path.join(mnt, 'written'), 'data');
    const holder = holdBusy(mnt);
    try {
      const err = await rejection(driver.remove('ctr'));
      expect(err.code).to.equal('EBUSY');
      expect(err.message).to.equal(`EBUSY: resource busy or locked, umount2 '${mnt}'`);
      expect(await driver.exists('ctr')).to.equal(true);
      // A restart while it is busy adopts the mount.
      await driver.close({ keepMounts: true });
      driver = await init(root, PROGRAM_OPTIONS);
      expect(mountsUnder(root)).to.deep.equal([mnt]);
      expect((await rejection(driver.put('ctr'))).code).to.equal('EBUSY');
    } finally {
      await release(holder);
    }
    await driver.remove('ctr');
    await driver.remove('base');
    for (const dir of STORE_DIRS) expect(entriesOf(root, dir), dir).to.deep.equal([]);
    expect(mountsUnder(root)).to.deep.equal([]);
  });

  it('reports EBUSY for a filesystem mounted inside a layer, and finishes the remove once it is gone', async () => {
    const inside = path.join(root, 'diff', 'ctr', 'proc-like');
    mkdirSync(inside);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', inside]);
    const err = await rejection(driver.remove('ctr'));
    expect(err.code).to.equal('EBUSY');
    expect(err.path).to.match(/\/diff\/ctr-removing\/proc-like$/);
    // The layer is gone from view; its files wait, as scratch, for the mount to go.
    expect(await driver.exists('ctr')).to.equal(false);
    expect(await driver.layers()).to.deep.equal(['base']);

    // A restart meanwhile works and leaves the busy scratch alone.
    await driver.close();
    driver = await init(root, PROGRAM_OPTIONS);
    expect(entriesOf(root, 'diff').sort()).to.deep.equal(['base', 'ctr-removing']);

    execFileSync('umount', [path.join(root, 'diff', 'ctr-removing', 'proc-like')]);
    await driver.remove('ctr');
    expect(entriesOf(root, 'diff')).to.deep.equal(['base']);
    expect(mountsUnder(root)).to.deep.equal([]);
  });
});
