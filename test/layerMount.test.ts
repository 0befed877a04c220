// The one-trip checks behind get() and put(): checkLayerMount and unmountIfType.
import { expect } from 'chai';
import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { native } from '../src/native';
import { mountsUnder, programDriver, rejection, scratchDir } from './helpers/fixtures';

const TMPFS_MAGIC = 0x01021994;

describe('checkLayerMount and unmountIfType', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let layers: string;
  beforeEach(() => {
    scratch = scratchDir('aufs-layer-mount-');
    layers = path.join(scratch.dir, 'layers');
    mkdirSync(layers);
  });
  afterEach(() => scratch.dispose());

  const setupFor = (...names: string[]) => ({
    dirs: names.map((name, i) => ({ path: path.join(scratch.dir, name), mode: i === 0 ? 0o755 : 0o700 })),
    mountPoint: path.join(scratch.dir, names[0]),
  });

  it('reads the chain alone without a setup, and makes nothing', async () => {
    writeFileSync(path.join(layers, 'top'), 'mid\n\nbase\n');
    const state = await native.checkLayerMount(path.join(layers, 'top'), layers, false);
    expect(state).to.deep.equal({ chain: 'mid\n\nbase\n', problem: '', missingParent: '', mountType: 0 });
  });

  it('checks the parents without a setup when asked, and makes nothing', async () => {
    writeFileSync(path.join(layers, 'mid'), '');
    writeFileSync(path.join(layers, 'top'), 'mid\nbase\n');
    const state = await native.checkLayerMount(path.join(layers, 'top'), layers, true);
    expect(state).to.deep.equal({ chain: 'mid\nbase\n', problem: '', missingParent: 'base', mountType: 0 });
    expect(() => statSync(path.join(scratch.dir, 'mnt'))).to.throw(/ENOENT/);
  });

  const notLayersFiles: Record<string, [(file: string) => void, string]> = {
    'a symlink': [(file) => symlinkSync('/etc/hostname', file), 'it is a symlink'],
    'a directory': [(file) => mkdirSync(file), 'not a regular file'],
    'over a MiB long': [(file) => writeFileSync(file, 'x\n'.repeat(600_000)), '1200000 bytes long'],
  };
  for (const [what, [make, problem]] of Object.entries(notLayersFiles)) {
    it(`reads nothing from a layers file that is ${what}, and says so`, async () => {
      const file = path.join(layers, 'top');
      make(file);
      const state = await native.checkLayerMount(file, layers, true, setupFor('mnt/top'));
      expect(state).to.deep.equal({ chain: '', problem, missingParent: '', mountType: 0 });
      expect(() => statSync(path.join(scratch.dir, 'mnt'))).to.throw(/ENOENT/);
    });
  }

  it('checks the parents, makes the directories with their modes and parents, and looks at the mount point', async () => {
    for (const id of ['mid', 'base']) writeFileSync(path.join(layers, id), '');
    writeFileSync(path.join(layers, 'top'), 'mid\nbase\n');
    const setup = setupFor('mnt/top', 'work/top');
    const state = await native.checkLayerMount(path.join(layers, 'top'), layers, false, setup);
    expect(state).to.deep.equal({ chain: 'mid\nbase\n', problem: '', missingParent: '', mountType: 0 });
    expect(statSync(path.join(scratch.dir, 'mnt/top')).mode & 0o777).to.equal(0o755);
    expect(statSync(path.join(scratch.dir, 'work/top')).mode & 0o777).to.equal(0o700);
    await native.mount('tmpfs', setup.mountPoint, 'tmpfs', 0, '');
    expect((await native.checkLayerMount(path.join(layers, 'top'), layers, false, setup)).mountType).to.equal(TMPFS_MAGIC);
  });

  it('names the first missing parent and makes nothing then', async () => {
    writeFileSync(path.join(layers, 'base'), '');
    writeFileSync(path.join(layers, 'top'), 'base\ngone\nalso-gone\n');
    const state = await native.checkLayerMount(path.join(layers, 'top'), layers, false, setupFor('mnt/top'));
    expect(state.missingParent).to.equal('gone');
    expect(() => statSync(path.join(scratch.dir, 'mnt'))).to.throw(/ENOENT/);
  });

  it('looks no parent up by a name that could lead out of layers/', async () => {
    writeFileSync(path.join(layers, 'top'), '../layers/top\n');
    const state = await native.checkLayerMount(path.join(layers, 'top'), layers, false, setupFor('mnt/top'));
    expect(state.missingParent).to.equal('../layers/top');
    expect(() => statSync(path.join(scratch.dir, 'mnt'))).to.throw(/ENOENT/);
  });

  it('rejects with ENOENT on the layers file of a layer that does not exist', async () => {
    const file = path.join(layers, 'missing');
    const err = await rejection(native.checkLayerMount(file, layers, false));
    expect(err.code).to.equal('ENOENT');
    expect(err.path).to.equal(file);
  });

  it('unmounts only a mount of the type asked for', async () => {
    const target = path.join(scratch.dir, 'mnt');
    mkdirSync(target);
    expect(await native.unmountIfType(target, TMPFS_MAGIC, 0)).to.equal(false);
    expect(await native.unmountIfType(path.join(scratch.dir, 'missing'), TMPFS_MAGIC, 0)).to.equal(false);
    await native.mount('tmpfs', target, 'tmpfs', 0, '');
    expect(await native.unmountIfType(target, native.constants.FUSE_SUPER_MAGIC, 0)).to.equal(false);
    expect(mountsUnder(target)).to.deep.equal([target]);
    expect(await native.unmountIfType(target, TMPFS_MAGIC, 0)).to.equal(true);
    expect(mountsUnder(target)).to.deep.equal([]);
  });

  it('lets get() report a missing parent as a corrupt layer, as before', async () => {
    const driver = await programDriver(path.join(scratch.dir, 'root'));
    await driver.create('base');
    await driver.create('top', 'base');
    writeFileSync(path.join(scratch.dir, 'root', 'layers', 'top'), 'base\nghost\n');
    const err = await rejection(driver.get('top'));
    expect(err.code).to.equal('ERR_CORRUPT_LAYER');
    expect(err.message).to.equal('layer "top" lists parent "ghost", which does not exist');
  });
});
