import { expect } from 'chai';
import { mkdirSync, openSync, closeSync, readFileSync, symlinkSync, writeFileSync, existsSync, constants as fsConstants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { native } from '../src/native';
import { mountsUnder, scratchDir, rejection } from './helpers/fixtures';

const TMPFS_MAGIC = 0x01021994;
const { MS_BIND, MS_REMOUNT, MS_RDONLY } = native.constants;


function expectSystemError(err: NodeJS.ErrnoException, code: string, syscall: string, file: string): void {
  expect(err).to.be.instanceOf(Error);
  expect(err.code).to.equal(code);
  expect(err.errno).to.equal(-(os.constants.errno as Record<string, number>)[code]);
  expect(err.syscall).to.equal(syscall);
  expect(err.path).to.equal(file);
  expect(err.message).to.match(new RegExp(`^${code}: [a-z ]+, ${syscall} '${file.replace(/[/.]/g, '\\$&')}'$`));
}

describe('native syscalls', () => {
  let scratch: ReturnType<typeof scratchDir>;
  beforeEach(() => {
    scratch = scratchDir('aufs-native-');
  });
  afterEach(() => scratch.dispose());

  it('mounts, remounts read-only and unmounts a tmpfs', async () => {
    const target = path.join(scratch.dir, 'tmpfs');
    mkdirSync(target);
    expect(await native.mountType(target)).to.equal(0);
    await native.mount('tmpfs', target, 'tmpfs', 0, 'size=1m,mode=0755');
    expect(mountsUnder(target)).to.deep.equal([target]);
    expect(await native.mountType(target)).to.equal(TMPFS_MAGIC);
    expect(await native.statfsType(target)).to.equal(TMPFS_MAGIC);
    writeFileSync(path.join(target, 'f'), 'x');

    await native.mount('tmpfs', target, 'tmpfs', MS_REMOUNT | MS_RDONLY, '');
    expect(() => writeFileSync(path.join(target, 'g'), 'y')).to.throw().with.property('code', 'EROFS');
    expect(readFileSync(path.join(target, 'f'), 'utf8')).to.equal('x');

    await native.umount2(target, 0);
    expect(mountsUnder(target)).to.deep.equal([]);
    expect(existsSync(path.join(target, 'f'))).to.equal(false);
  });

  it('bind-mounts a directory and tells a mount root from a plain directory', async () => {
    const source = path.join(scratch.dir, 'src');
    const target = path.join(scratch.dir, 'dst');
    mkdirSync(path.join(source, 'inner'), { recursive: true });
    mkdirSync(target);
    await native.mount('tmpfs', source, 'tmpfs', 0, '');
    mkdirSync(path.join(source, 'inner'));
    writeFileSync(path.join(source, 'inner', 'f'), 'bound');
    await native.mount(source, target, '', MS_BIND, '');
    expect(readFileSync(path.join(target, 'inner', 'f'), 'utf8')).to.equal('bound');
    expect(await native.mountType(target)).to.equal(TMPFS_MAGIC);
    expect(await native.mountType(path.join(target, 'inner'))).to.equal(0);
    await native.umount2(target, 0);
    await native.umount2(source, 0);
  });

  it('reports ENOENT like Node fs does', async () => {
    const missing = path.join(scratch.dir, 'missing');
    expectSystemError(await rejection(native.mount('tmpfs', missing, 'tmpfs', 0, '')), 'ENOENT', 'mount', missing);
    expectSystemError(await rejection(native.statfsType(missing)), 'ENOENT', 'statfs', missing);
    expectSystemError(await rejection(native.removeTree(missing)), 'ENOENT', 'lstat', missing);
  });

  it('reports EINVAL for unmounting what is not a mount', async () => {
    expectSystemError(await rejection(native.umount2(scratch.dir, 0)), 'EINVAL', 'umount2', scratch.dir);
  });

  it('reports EBUSY for unmounting a mount that is in use', async () => {
    const target = path.join(scratch.dir, 'busy');
    mkdirSync(target);
    await native.mount('tmpfs', target, 'tmpfs', 0, '');
    const fd = openSync(path.join(target, 'held'), fsConstants.O_CREAT | fsConstants.O_RDWR);
    try {
      expectSystemError(await rejection(native.umount2(target, 0)), 'EBUSY', 'umount2', target);
    } finally {
      closeSync(fd);
    }
    await native.umount2(target, 0);
  });

  it('rejects wrong argument types synchronously with a TypeError', () => {
    expect(() => (native.umount2 as unknown as (a: unknown, b: unknown) => unknown)(1, 0)).to.throw(TypeError, /target must be a string/);
    expect(() => native.statfsType('a\0b')).to.throw(TypeError, /NUL/);
  });

  describe('removeTree', () => {
    it('deletes a tree without following symlinks out of it', async () => {
      const outside = path.join(scratch.dir, 'outside');
      mkdirSync(outside);
      writeFileSync(path.join(outside, 'keep'), 'keep');
      const tree = path.join(scratch.dir, 'tree');
      mkdirSync(path.join(tree, 'a/b/c'), { recursive: true });
      writeFileSync(path.join(tree, 'a/b/c/f'), 'x');
      symlinkSync(outside, path.join(tree, 'a/link'));
      symlinkSync('/', path.join(tree, 'root'));
      await native.removeTree(tree);
      expect(existsSync(tree)).to.equal(false);
      expect(readFileSync(path.join(outside, 'keep'), 'utf8')).to.equal('keep');
    });

    it('does not descend into another mount below the tree', async () => {
      const tree = path.join(scratch.dir, 'tree');
      const inner = path.join(tree, 'mnt');
      mkdirSync(inner, { recursive: true });
      await native.mount('tmpfs', inner, 'tmpfs', 0, '');
      writeFileSync(path.join(inner, 'precious'), 'x');
      expectSystemError(await rejection(native.removeTree(tree)), 'EBUSY', 'rmdir', inner);
      expect(readFileSync(path.join(inner, 'precious'), 'utf8')).to.equal('x');
      await native.umount2(inner, 0);
    });
  });
});
