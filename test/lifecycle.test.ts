import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { init, unmount, type Driver } from '../src';
import { describeTree, listXattrs, mountsUnder, programDriver, scratchDir, writeTree, rejection } from './helpers/fixtures';


describe('layer lifecycle through the mount program', function () {
  let scratch: ReturnType<typeof scratchDir>;
  let root: string;
  let driver: Driver;

  beforeEach(async () => {
    scratch = scratchDir('aufs-life-');
    root = path.join(scratch.dir, 'root');
    driver = await programDriver(root);
  });
  afterEach(() => scratch.dispose());

  const diff = (id: string): string => path.join(root, 'diff', id);

  /** base <- l1 <- l2 <- l3, with whiteouts and an opaque directory in l1. */
  async function buildChain(): Promise<void> {
    await driver.create('base');
    writeTree(diff('base'), { a: 'a0', b: 'b0', 'dir/x': 'x0', 'opq/y': 'y0', 'opq/sub/deep': 'd0' });
    await driver.create('l1', 'base');
    writeTree(diff('l1'), { '.wh.b': '', 'opq/.wh..wh..opq': '', 'opq/z': 'z1', a: 'a1' });
    await driver.create('l2', 'l1');
    writeTree(diff('l2'), { c: 'c2', 'dir/.wh.x': '', 'dir/w': 'w2' });
    await driver.create('l3', 'l2');
  }

  it('lays out a Docker-style root and parent chains', async () => {
    await buildChain();
    expect(readdirSync(root).sort()).to.deep.equal(['.lock', 'diff', 'incomplete', 'layers', 'mnt', 'work']);
    expect(lstatSync(root).mode & 0o777).to.equal(0o710);
    expect(readFileSync(path.join(root, 'layers', 'base'), 'utf8')).to.equal('');
    expect(readFileSync(path.join(root, 'layers', 'l3'), 'utf8')).to.equal('l2\nl1\nbase\n');
    expect(await driver.exists('l3')).to.equal(true);
    expect(await driver.exists('nope')).to.equal(false);
    expect(String(driver)).to.equal('aufs');
    expect(await driver.status()).to.deep.equal([
      ['Root Dir', root],
      ['Backing Filesystem', 'extfs'],
      ['Dirs', '4'],
      ['Dirperm1 Supported', 'false'],
    ]);
  });

  it('shows the union, writes through it, and leaves diff/ID in aufs form after put', async () => {
    await buildChain();
    // A base layer is never mounted: its files are the whole view.
    expect(await driver.get('base')).to.equal(diff('base'));
    await driver.put('base');

    const mnt = await driver.get('l3');
    expect(mnt).to.equal(path.join(root, 'mnt', 'l3'));
    expect(mountsUnder(root)).to.deep.equal([mnt]);
    expect(describeTree(mnt)).to.deep.equal({
      a: 'file:a1',
      c: 'file:c2',
      'dir/': 'dir',
      'dir/w': 'file:w2',
      'opq/': 'dir',
      'opq/z': 'file:z1',
    });

    unlinkSync(path.join(mnt, 'a'));
    writeFileSync(path.join(mnt, 'new'), 'n3');
    renameSync(path.join(mnt, 'c'), path.join(mnt, 'c-renamed'));
    rmSync(path.join(mnt, 'dir'), { recursive: true });
    mkdirSync(path.join(mnt, 'dir'));
    writeFileSync(path.join(mnt, 'dir', 'fresh'), 'f3');
    await driver.put('l3');
    expect(mountsUnder(root)).to.deep.equal([]);

    const layer = describeTree(diff('l3'));
    for (const [rel, what] of Object.entries(layer)) {
      expect(what, rel).to.not.match(/^(chr|other)/);
    }
    expect(layer).to.include({ '.wh.a': 'file:', '.wh.c': 'file:', new: 'file:n3', 'c-renamed': 'file:c2', 'dir/fresh': 'file:f3' });
    expect(layer).to.have.property('dir/.wh..wh..opq', 'file:');
    expect(listXattrs(path.join(diff('l3'), 'dir'))).to.not.include('trusted.overlay.opaque');

    // The same view comes back from the converted layer.
    const again = await driver.get('l3');
    expect(describeTree(again)).to.deep.equal({
      'c-renamed': 'file:c2',
      'dir/': 'dir',
      'dir/fresh': 'file:f3',
      new: 'file:n3',
      'opq/': 'dir',
      'opq/z': 'file:z1',
    });
    await driver.put('l3');
  });

  it('counts 100 concurrent gets and puts exactly', async () => {
    await buildChain();
    const mnt = path.join(root, 'mnt', 'l3');
    const paths = await Promise.all(Array.from({ length: 100 }, () => driver.get('l3')));
    expect(new Set(paths)).to.deep.equal(new Set([mnt]));
    expect(mountsUnder(root)).to.deep.equal([mnt]);
    await Promise.all(Array.from({ length: 99 }, () => driver.put('l3')));
    expect(mountsUnder(root)).to.deep.equal([mnt]);
    await driver.put('l3');
    expect(mountsUnder(root)).to.deep.equal([]);
    // More puts than gets are not an error.
    await driver.put('l3');
    await driver.put('never-created');

    // Interleaved from many callers, the mount ends up gone exactly once.
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        await driver.get('l3');
        await driver.put('l3');
      }),
    );
    expect(mountsUnder(root)).to.deep.equal([]);
  });

  it('mounts different layers in parallel', async () => {
    await buildChain();
    await driver.create('l2b', 'l1');
    const [m3, m2b] = await Promise.all([driver.get('l3'), driver.get('l2b')]);
    expect(mountsUnder(root).sort()).to.deep.equal([m2b, m3].sort());
    await Promise.all([driver.put('l3'), driver.put('l2b')]);
    expect(mountsUnder(root)).to.deep.equal([]);
  });

  it('removes a layer that is still mounted, with gets outstanding', async () => {
    await buildChain();
    await driver.get('l3');
    await driver.get('l3');
    await driver.remove('l3');
    expect(mountsUnder(root)).to.deep.equal([]);
    expect(await driver.exists('l3')).to.equal(false);
    for (const dir of ['layers', 'diff', 'mnt', 'work']) {
      expect(readdirSync(path.join(root, dir))).to.not.include('l3');
    }
    // Removing again, or something never made, is fine.
    await driver.remove('l3');
    await driver.remove('ghost');
    // The id can be used again and starts empty.
    await driver.create('l3', 'l2');
    expect(readdirSync(diff('l3'))).to.deep.equal([]);
  });

  it('unmounts everything on cleanup', async () => {
    await buildChain();
    await driver.get('l3');
    await driver.get('l2');
    await driver.get('l2');
    await driver.cleanup();
    expect(mountsUnder(root)).to.deep.equal([]);
    // Counts are gone with the mounts: a later get mounts afresh.
    await driver.get('l2');
    expect(mountsUnder(root)).to.deep.equal([path.join(root, 'mnt', 'l2')]);
    await driver.put('l2');
    expect(mountsUnder(root)).to.deep.equal([]);
  });

  it('unmounts what it can on cleanup and reports the rest together', async () => {
    await buildChain();
    const busy = await driver.get('l3');
    const free = await driver.get('l2');
    const holder = spawn('sleep', ['30'], { cwd: busy, stdio: 'ignore' });
    try {
      const err = (await rejection(driver.cleanup())) as Error & { code?: string; errors?: Array<Error & { code?: string }> };
      expect(err).to.be.instanceOf(AggregateError);
      expect(err.code).to.equal('ERR_CLEANUP');
      expect(err.errors?.map((e) => e.code)).to.deep.equal(['EBUSY']);
      expect(err.message).to.include(busy);
      expect(mountsUnder(root)).to.deep.equal([busy]);
      expect(mountsUnder(root)).to.not.include(free);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    await driver.cleanup();
    expect(mountsUnder(root)).to.deep.equal([]);
  });

  it('checks ids and parents before writing anything', async () => {
    await buildChain();
    expect((await rejection(driver.create('x', 'missing'))).code).to.equal('ERR_LAYER_NOT_FOUND');
    expect(existsSync(diff('x'))).to.equal(false);
    expect(existsSync(path.join(root, 'mnt', 'x'))).to.equal(false);
    expect((await rejection(driver.create('l1', 'base'))).code).to.equal('ERR_LAYER_EXISTS');
    expect(readFileSync(path.join(root, 'layers', 'l1'), 'utf8')).to.equal('base\n');
    for (const bad of ['', '..', 'a/b', 'x-removing']) {
      expect((await rejection(driver.create(bad))).code, bad).to.equal('ERR_INVALID_ID');
      expect((await rejection(driver.get(bad))).code, bad).to.equal('ERR_INVALID_ID');
      expect((await rejection(driver.remove(bad))).code, bad).to.equal('ERR_INVALID_ID');
    }
    expect((await rejection(driver.create('y', '../base'))).code).to.equal('ERR_INVALID_ID');
    expect((await rejection(driver.get('missing'))).code).to.equal('ERR_LAYER_NOT_FOUND');
  });

  it('refuses to mount a layer whose chain names a missing or invalid parent', async () => {
    await buildChain();
    writeFileSync(path.join(root, 'layers', 'l3'), 'l2\nvanished\nbase\n');
    const missing = await rejection(driver.get('l3'));
    expect(missing.code).to.equal('ERR_CORRUPT_LAYER');
    expect(missing.message).to.include('"vanished"');
    writeFileSync(path.join(root, 'layers', 'l3'), 'l2\n../etc\n');
    expect((await rejection(driver.get('l3'))).code).to.equal('ERR_CORRUPT_LAYER');
    expect(mountsUnder(root)).to.deep.equal([]);
  });

  it('adopts mounts left by an earlier process and finishes interrupted creates and removes', async () => {
    await buildChain();
    const mnt = await driver.get('l3');
    // Leftovers of removes that died half way.
    mkdirSync(path.join(root, 'diff', 'old-removing', 'deep'), { recursive: true });
    writeFileSync(path.join(root, 'diff', 'old-removing', 'deep', 'f'), 'x');
    mkdirSync(path.join(root, 'mnt', 'old-removing'));
    writeFileSync(path.join(root, 'layers', 'half-removing'), 'base\n');
    // And of a create that died before writing layers/ID.
    mkdirSync(path.join(root, 'diff', 'half-made'));
    writeFileSync(path.join(root, 'diff', 'half-made', 'f'), 'x');
    mkdirSync(path.join(root, 'mnt', 'half-made'));
    // The earlier process ends, leaving its union mounted.
    await driver.close({ keepMounts: true });

    const restarted = await init(root, ['aufs.mount_program=/usr/bin/fuse-overlayfs']);
    expect(readdirSync(path.join(root, 'diff'))).to.not.include('old-removing');
    expect(readdirSync(path.join(root, 'mnt'))).to.not.include('old-removing');
    expect(readdirSync(path.join(root, 'layers'))).to.not.include('half-removing');
    expect(readdirSync(path.join(root, 'diff')).sort()).to.deep.equal(['base', 'l1', 'l2', 'l3']);
    expect(readdirSync(path.join(root, 'mnt')).sort()).to.deep.equal(['base', 'l1', 'l2', 'l3']);
    expect(mountsUnder(root)).to.deep.equal([mnt]);
    // Adopted once: a single put unmounts it.
    await restarted.put('l3');
    expect(mountsUnder(root)).to.deep.equal([]);
  });

  it('retries a busy unmount, then reports EBUSY and keeps the mount and its count', async () => {
    await buildChain();
    const mnt = await driver.get('l3');
    const holder = spawn('sleep', ['30'], { cwd: mnt, stdio: 'ignore' });
    try {
      const started = Date.now();
      const err = await rejection(driver.put('l3'));
      expect(err.code).to.equal('EBUSY');
      expect(Date.now() - started).to.be.at.least(400);
      expect(mountsUnder(root)).to.deep.equal([mnt]);
      expect((await rejection(driver.remove('l3'))).code).to.equal('EBUSY');
      expect(await driver.exists('l3')).to.equal(true);
      expect((await rejection(unmount(mnt))).code).to.equal('EBUSY');
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    await driver.put('l3');
    expect(mountsUnder(root)).to.deep.equal([]);
  });

  it('treats unmounting what is not mounted as done, and checks its argument', async () => {
    await unmount(root);
    await unmount(path.join(root, 'no-such-dir'));
    expect(readdirSync(root).sort()).to.deep.equal(['.lock', 'diff', 'incomplete', 'layers', 'mnt', 'work']);
    const err = await rejection(unmount(42 as unknown as string));
    expect(err).to.be.instanceOf(TypeError);
    expect(err.code).to.equal('ERR_INVALID_ARG_TYPE');
  });
});
