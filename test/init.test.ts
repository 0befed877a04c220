import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { ErrAufsNotSupported, ErrIncompatibleFS, init } from '../src';
import { MOUNT_PROGRAM, PROGRAM_OPTIONS, scratchDir, rejection } from './helpers/fixtures';


const kernelHasAufs = readFileSync('/proc/filesystems', 'utf8').split('\n').some((l) => l.endsWith('\taufs'));

describe('init', () => {
  let scratch: ReturnType<typeof scratchDir>;
  beforeEach(() => {
    scratch = scratchDir('aufs-init-');
  });
  afterEach(() => scratch.dispose());

  it('rejects with ErrAufsNotSupported when the kernel has no aufs and no mount program is set', async function () {
    if (kernelHasAufs) this.skip();
    const err = await rejection(init(path.join(scratch.dir, 'root')));
    expect(err).to.be.instanceOf(ErrAufsNotSupported);
    expect(err).to.be.instanceOf(Error);
    expect(err.message).to.equal('AUFS was not found in /proc/filesystems');
    expect(err.code).to.equal('ERR_AUFS_NOT_SUPPORTED');
    expect(existsSync(path.join(scratch.dir, 'root'))).to.equal(false);
  });

  it('rejects unknown options, naming them', async () => {
    const err = await rejection(init(path.join(scratch.dir, 'root'), [...PROGRAM_OPTIONS, 'aufs.bogus=1']));
    expect(err.code).to.equal('ERR_INVALID_OPTION');
    expect(err.message).to.include('aufs.bogus=1');
    expect((await rejection(init(scratch.dir, ['aufs.mount_program=']))).code).to.equal('ERR_INVALID_OPTION');
  });

  it('rejects a mount program that is not an executable file', async () => {
    const notExec = path.join(scratch.dir, 'prog');
    writeFileSync(notExec, '#!/bin/sh\n');
    chmodSync(notExec, 0o644);
    for (const program of [notExec, path.join(scratch.dir, 'missing')]) {
      const err = await rejection(init(path.join(scratch.dir, 'root'), [`aufs.mount_program=${program}`]));
      expect(err.code).to.equal('ERR_INVALID_OPTION');
      expect(err.message).to.include(program);
    }
  });

  it('rejects a root that is a file with the syscall error', async () => {
    const file = path.join(scratch.dir, 'file');
    writeFileSync(file, 'not a dir');
    const err = await rejection(init(file, PROGRAM_OPTIONS));
    expect(err.code).to.equal('EEXIST');
    expect(readFileSync(file, 'utf8')).to.equal('not a dir');
    expect((await rejection(init(path.join(file, 'below'), PROGRAM_OPTIONS))).code).to.equal('ENOTDIR');
  });

  it('creates the layout and reuses an existing one', async () => {
    const root = path.join(scratch.dir, 'a', 'b', 'root');
    const driver = await init(root, PROGRAM_OPTIONS);
    await driver.create('kept');
    writeFileSync(path.join(root, 'diff', 'kept', 'f'), 'data');
    await driver.close();
    const again = await init(root, PROGRAM_OPTIONS);
    expect(await again.exists('kept')).to.equal(true);
    expect(readFileSync(path.join(root, 'diff', 'kept', 'f'), 'utf8')).to.equal('data');
    expect(readdirSync(root).sort()).to.deep.equal(['.lock', 'diff', 'incomplete', 'layers', 'mnt', 'work']);
    await again.close();
  });

  it('works on a root laid out by Docker', async () => {
    // What dockerd's aufs driver left: no work/ dir, 64-hex ids, an -init layer.
    const root = path.join(scratch.dir, 'docker', 'aufs');
    const base = 'a'.repeat(64);
    const image = 'b'.repeat(64);
    for (const dir of ['diff', 'mnt', 'layers']) mkdirSync(path.join(root, dir), { recursive: true });
    for (const [id, parents] of [[base, []], [image, [base]], [`${image}-init`, [image, base]]] as const) {
      mkdirSync(path.join(root, 'diff', id));
      mkdirSync(path.join(root, 'mnt', id));
      writeFileSync(path.join(root, 'layers', id), parents.map((p) => `${p}\n`).join(''));
    }
    writeFileSync(path.join(root, 'diff', base, 'hello'), 'from the base');
    writeFileSync(path.join(root, 'diff', image, '.wh.hello'), '');
    writeFileSync(path.join(root, 'diff', image, 'world'), 'from the image');

    const driver = await init(root, PROGRAM_OPTIONS);
    expect((await driver.status())[2]).to.deep.equal(['Dirs', '3']);
    const mnt = await driver.get(`${image}-init`);
    expect(readdirSync(mnt)).to.deep.equal(['world']);
    await driver.put(`${image}-init`);
    await driver.remove(`${image}-init`);
    expect(await driver.exists(image)).to.equal(true);
  });

  it('rejects with ErrIncompatibleFS when the root would sit on btrfs', async () => {
    const image = path.join(scratch.dir, 'btrfs.img');
    const mountpoint = path.join(scratch.dir, 'btrfs');
    mkdirSync(mountpoint);
    execFileSync('truncate', ['-s', '120M', image]);
    execFileSync('mkfs.btrfs', ['-q', image], { stdio: 'ignore' });
    execFileSync('mount', ['-o', 'loop', image, mountpoint]);
    try {
      const root = path.join(mountpoint, 'root');
      const err = await rejection(init(root, PROGRAM_OPTIONS));
      expect(err).to.be.instanceOf(ErrIncompatibleFS);
      expect(err.code).to.equal('ERR_INCOMPATIBLE_FS');
      expect(err.path).to.equal(mountpoint);
      expect(err.message).to.include('btrfs');
      expect(existsSync(root)).to.equal(false);
    } finally {
      execFileSync('umount', [mountpoint]);
    }
  });

  it('reports the backing filesystem by the name Docker used', async () => {
    const tmpfs = path.join(scratch.dir, 'tmpfs');
    mkdirSync(tmpfs);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', tmpfs]);
    const driver = await init(path.join(tmpfs, 'root'), PROGRAM_OPTIONS);
    expect((await driver.status())[1]).to.deep.equal(['Backing Filesystem', 'tmpfs']);
  });

  it('uses the mount program given as an option', async () => {
    const driver = await init(path.join(scratch.dir, 'root'), [`aufs.mount_program=${MOUNT_PROGRAM}`]);
    await driver.create('base');
    await driver.create('child', 'base');
    const mnt = await driver.get('child');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).to.include(`${mnt} `);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).to.match(/fuse(\.fuse-overlayfs)? /);
    await driver.put('child');
  });
});
