import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import type { Driver } from '../src';
import { programDriver, rejection, scratchDir } from './helpers/fixtures';

describe('listing layers and their parents', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let root: string;
  let driver: Driver;

  beforeEach(async () => {
    scratch = scratchDir('aufs-layers-');
    root = path.join(scratch.dir, 'root');
    driver = await programDriver(root);
  });
  afterEach(() => scratch.dispose());

  it('lists every layer, and nothing else found in layers/', async () => {
    expect(await driver.layers()).to.deep.equal([]);
    await driver.create('base');
    await driver.create('child', 'base');
    // A layers file being written (scratch) is no layer.
    writeFileSync(path.join(root, 'layers', 'next-removing'), 'base\n');
    expect((await driver.layers()).sort()).to.deep.equal(['base', 'child']);
    await driver.remove('child');
    expect(await driver.layers()).to.deep.equal(['base']);
  });

  it('gives the ancestors nearest first, [] for a base layer', async () => {
    await driver.create('base');
    await driver.create('mid', 'base');
    await driver.create('top', 'mid');
    expect(await driver.parents('base')).to.deep.equal([]);
    expect(await driver.parents('mid')).to.deep.equal(['base']);
    expect(await driver.parents('top')).to.deep.equal(['mid', 'base']);
  });

  it('rejects unknown and invalid ids and corrupt layers files', async () => {
    expect((await rejection(driver.parents('nope'))).code).to.equal('ERR_LAYER_NOT_FOUND');
    expect((await rejection(driver.parents('../x'))).code).to.equal('ERR_INVALID_ID');
    await driver.create('bad');
    writeFileSync(path.join(root, 'layers', 'bad'), 'ok\n../escape\n');
    const err = await rejection(driver.parents('bad'));
    expect(err.code).to.equal('ERR_CORRUPT_LAYER');
    expect(err.path).to.equal(path.join(root, 'layers', 'bad'));
  });
});
