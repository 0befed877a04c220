import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { formatChange, type Driver } from '../src';
import { buildLegacyRoot, describeTree, mountsUnder, programDriver, scratchDir, writeTree, rejection } from './helpers/fixtures';

describe('migrate from a Docker < 0.7 root', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let root: string;
  let legacy: string;
  let driver: Driver;
  const setups: string[] = [];
  const setupInit = (initPath: string): void => {
    setups.push(initPath);
    writeTree(initPath, { 'etc/resolv.conf': 'nameserver 127.0.0.1', '.dockerinit': 'init' });
  };

  beforeEach(async () => {
    scratch = scratchDir('aufs-migrate-');
    legacy = path.join(scratch.dir, 'docker');
    root = path.join(legacy, 'aufs');
    buildLegacyRoot(legacy);
    driver = await programDriver(root);
    setups.length = 0;
  });
  afterEach(() => scratch.dispose());

  const layerFile = (id: string): string => readFileSync(path.join(root, 'layers', id), 'utf8');

  it('moves images and containers into layers, parents first, and sets up init layers', async () => {
    await driver.migrate(legacy, setupInit);

    expect(existsSync(path.join(legacy, 'repositories'))).to.equal(false);
    expect(readFileSync(path.join(legacy, 'repositories-aufs'), 'utf8')).to.equal('{"Repositories":{}}');
    expect(layerFile('base')).to.equal('');
    expect(layerFile('child')).to.equal('base\n');
    expect(layerFile('c1-init')).to.equal('child\nbase\n');
    expect(layerFile('c1')).to.equal('c1-init\nchild\nbase\n');
    expect(readdirSync(path.join(root, 'layers')).sort()).to.deep.equal(['base', 'c1', 'c1-init', 'child']);

    expect(describeTree(path.join(root, 'diff', 'base'))).to.deep.equal({ 'bin/': 'dir', 'bin/sh': 'file:sh', 'etc/': 'dir', 'etc/hostname': 'file:base' });
    expect(describeTree(path.join(root, 'diff', 'c1'))).to.deep.equal({ app: 'file:changed by c1', 'tmp/': 'dir', 'tmp/log': 'file:log' });
    expect(existsSync(path.join(legacy, 'graph', 'base', 'layer'))).to.equal(false);
    expect(existsSync(path.join(legacy, 'containers', 'c1', 'rw'))).to.equal(false);

    expect(setups).to.deep.equal([path.join(root, 'mnt', 'c1-init')]);
    expect(describeTree(path.join(root, 'diff', 'c1-init'))).to.deep.equal({
      '.dockerinit': 'file:init',
      'etc/': 'dir',
      'etc/resolv.conf': 'file:nameserver 127.0.0.1',
    });
    // The init layer was put again, unlike in Docker.
    expect(mountsUnder(root)).to.deep.equal([]);

    const view = await driver.get('c1');
    expect(describeTree(view)).to.deep.equal({
      '.dockerinit': 'file:init',
      app: 'file:changed by c1',
      'bin/': 'dir',
      'bin/sh': 'file:sh',
      'etc/': 'dir',
      'etc/resolv.conf': 'file:nameserver 127.0.0.1',
      'tmp/': 'dir',
      'tmp/log': 'file:log',
    });
    await driver.put('c1');
  });

  it('is harmless to run twice', async () => {
    await driver.migrate(legacy, setupInit);
    const before = describeTree(root);
    await driver.migrate(legacy, setupInit);
    expect(describeTree(root)).to.deep.equal(before);
    expect(setups).to.have.length(1);
    expect(mountsUnder(root)).to.deep.equal([]);
  });

  it('finishes a run that stopped between creating a layer and moving its files', async () => {
    // As if the first run died right after create('base'): an empty layer.
    await driver.create('base');
    await driver.migrate(legacy, setupInit);
    expect(describeTree(path.join(root, 'diff', 'base'))).to.have.property('etc/hostname', 'file:base');
  });

  it('links instead of moving across filesystems, and replaces its old link on the next run', async () => {
    // The images live on a tmpfs of their own: rename(2) gives EXDEV.
    const graph = path.join(legacy, 'graph');
    const saved = path.join(scratch.dir, 'saved-graph');
    execFileSync('cp', ['-a', graph, saved]);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', graph]);
    execFileSync('cp', ['-a', `${saved}/.`, graph]);

    await driver.migrate(legacy, setupInit);
    const diffBase = path.join(root, 'diff', 'base');
    expect(lstatSync(diffBase).isSymbolicLink()).to.equal(true);
    expect(readlinkSync(diffBase)).to.equal(path.join(graph, 'base', 'layer'));
    expect(await driver.diffSize('base')).to.equal('base'.length + 'sh'.length);
    expect((await driver.changes('child')).map(formatChange)).to.deep.equal(['A /app', 'C /etc', 'D /etc/hostname']);
    const view = await driver.get('c1');
    expect(readFileSync(path.join(view, 'bin', 'sh'), 'utf8')).to.equal('sh');
    await driver.put('c1');

    await driver.migrate(legacy, setupInit);
    expect(readlinkSync(diffBase)).to.equal(path.join(graph, 'base', 'layer'));
    // Removing the layer removes the link, never the files it points to.
    await driver.remove('c1');
    await driver.remove('c1-init');
    await driver.remove('child');
    await driver.remove('base');
    expect(readFileSync(path.join(graph, 'base', 'layer', 'etc', 'hostname'), 'utf8')).to.equal('base');
  });

  it('names the file when metadata is bad', async () => {
    writeFileSync(path.join(legacy, 'graph', 'child', 'json'), '{"id": "child", "parent": ');
    let err = await rejection(driver.migrate(legacy, setupInit));
    expect(err.code).to.equal('ERR_BAD_METADATA');
    expect(err.path).to.equal(path.join(legacy, 'graph', 'child', 'json'));
    expect(err.message).to.include(path.join(legacy, 'graph', 'child', 'json'));

    writeFileSync(path.join(legacy, 'graph', 'child', 'json'), JSON.stringify({ id: '../child' }));
    err = await rejection(driver.migrate(legacy, setupInit));
    expect(err.code).to.equal('ERR_BAD_METADATA');

    writeFileSync(path.join(legacy, 'graph', 'child', 'json'), JSON.stringify({ id: 'child', parent: 'base' }));
    writeFileSync(path.join(legacy, 'containers', 'c1', 'config.json'), JSON.stringify({ Image: 'no-such-image' }));
    err = await rejection(driver.migrate(legacy, setupInit));
    expect(err.code).to.equal('ERR_BAD_METADATA');
    expect(err.path).to.equal(path.join(legacy, 'containers', 'c1', 'config.json'));
  });

  it('does nothing without a graph directory', async () => {
    const empty = path.join(scratch.dir, 'empty');
    mkdirSync(empty);
    writeFileSync(path.join(empty, 'repositories'), '{}');
    await driver.migrate(empty, setupInit);
    expect(readdirSync(empty)).to.deep.equal(['repositories']);
    expect(readdirSync(path.join(root, 'layers'))).to.deep.equal([]);
  });
});
