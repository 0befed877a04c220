// Bad input to every public method: invalid ids, missing layers, arguments of
// the wrong type, a root that became a file, a read-only root, corrupt
// layers files, tars cut anywhere. Each is refused with an error that has a
// code, before anything is written, and leaves every layer removable.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import { init, unmount, type Driver } from '../../src';
import { PROGRAM_OPTIONS, describeTree, programDriver, rejection, scratchDir, writeTree } from '../helpers/fixtures';
import { pythonTar, snapshot, streamOf } from '../tarSupport';

const EMPTY_TAR = Buffer.alloc(1024);

/** Every method that takes a layer id, called with `id` and otherwise valid arguments. */
function idCalls(driver: Driver, id: unknown): Record<string, () => Promise<unknown>> {
  const d = driver as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  // Those that may make or delete the layer come last.
  return {
    exists: () => d.exists(id),
    parents: () => d.parents(id),
    'create (as parent)': () => d.create('fresh', id),
    get: () => d.get(id),
    put: () => d.put(id),
    diffSize: () => d.diffSize(id),
    changes: () => d.changes(id),
    diff: () => d.diff(id),
    applyDiff: () => d.applyDiff(id, undefined, streamOf(EMPTY_TAR)),
    remove: () => d.remove(id),
    create: () => d.create(id),
  };
}

/** Names of everything under `root`: what "nothing was written" compares. */
const namesUnder = (root: string): string[] => Object.keys(snapshot(root));

describe('reliability: bad input to every public method', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let root: string;
  let driver: Driver;

  beforeEach(async () => {
    scratch = scratchDir('aufs-bad-');
    root = path.join(scratch.dir, 'root');
    driver = await programDriver(root);
    await driver.create('base');
    writeTree(path.join(root, 'diff', 'base'), { 'etc/os': 'base' });
    await driver.create('child', 'base');
  });
  afterEach(() => scratch.dispose());

  it('refuses invalid ids with ERR_INVALID_ID, writing nothing', async () => {
    const before = namesUnder(root);
    const bad: unknown[] = ['', '.', '..', 'a/b', '/abs', 'nul\0', 'x-removing', 'x'.repeat(256), 'é'.repeat(128), 42, null, {}, ['base'], Symbol('id')];
    for (const id of bad) {
      for (const [name, call] of Object.entries(idCalls(driver, id))) {
        if (name === 'create (as parent)' && id === '') continue; // '' means no parent
        const err = await rejection(call());
        expect(err.code, `${name}(${String(typeof id === 'symbol' ? 'symbol' : JSON.stringify(id))})`).to.equal('ERR_INVALID_ID');
      }
    }
    expect(namesUnder(root)).to.deep.equal(before);
  });

  it('answers for missing layers as Docker did: not found, or nothing to do', async () => {
    const before = namesUnder(root);
    const outcomes: Record<string, string> = {};
    for (const [name, call] of Object.entries(idCalls(driver, 'missing'))) {
      outcomes[name] = await call().then(
        (value) => `ok:${JSON.stringify(value)}`,
        (err: Error & { code?: string }) => String(err.code),
      );
    }
    expect(outcomes).to.deep.equal({
      exists: 'ok:false',
      parents: 'ERR_LAYER_NOT_FOUND',
      create: 'ok:undefined',
      'create (as parent)': 'ERR_LAYER_NOT_FOUND',
      remove: 'ok:undefined',
      get: 'ERR_LAYER_NOT_FOUND',
      put: 'ok:undefined',
      diffSize: 'ERR_LAYER_NOT_FOUND',
      changes: 'ERR_LAYER_NOT_FOUND',
      diff: 'ERR_LAYER_NOT_FOUND',
      applyDiff: 'ERR_LAYER_NOT_FOUND',
    });
    // Only create() wrote: the layer it made.
    await driver.remove('missing');
    expect(namesUnder(root)).to.deep.equal(before);
  });

  it('refuses arguments of the wrong type with ERR_INVALID_ARG_TYPE or ERR_INVALID_OPTION, writing nothing', async () => {
    const before = namesUnder(root);
    const d = driver as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const calls: Array<[string, () => Promise<unknown>, string]> = [
      ['get(label: number)', () => d.get('child', 42), 'ERR_INVALID_ARG_TYPE'],
      ['get(label: object)', () => d.get('child', {}), 'ERR_INVALID_ARG_TYPE'],
      ['applyDiff(diff: number)', () => d.applyDiff('child', undefined, 42), 'ERR_INVALID_ARG_TYPE'],
      ['applyDiff(diff: Buffer)', () => d.applyDiff('child', undefined, EMPTY_TAR), 'ERR_INVALID_ARG_TYPE'],
      ['applyDiff(diff: string)', () => d.applyDiff('child', undefined, 'layer.tar'), 'ERR_INVALID_ARG_TYPE'],
      ['applyDiff(diff: null)', () => d.applyDiff('child', undefined, null), 'ERR_INVALID_ARG_TYPE'],
      ['migrate(path: number)', () => d.migrate(42, () => undefined), 'ERR_INVALID_ARG_TYPE'],
      ['migrate(setupInit: string)', () => d.migrate(scratch.dir, 'init'), 'ERR_INVALID_ARG_TYPE'],
      ['unmount(target: number)', () => unmount(42 as never), 'ERR_INVALID_ARG_TYPE'],
      ['init(root: number)', () => init(42 as never), 'ERR_INVALID_OPTION'],
      ['init(options: string)', () => init(root, 'aufs.mount_program=/bin/true' as never), 'ERR_INVALID_OPTION'],
      ['init(options: [number])', () => init(root, [42] as never), 'ERR_INVALID_OPTION'],
    ];
    for (const method of ['diffSize', 'changes', 'diff', 'applyDiff'] as const) {
      const call = (options: unknown): Promise<unknown> =>
        method === 'applyDiff' ? d.applyDiff('child', undefined, streamOf(EMPTY_TAR), options) : d[method]('child', undefined, options);
      calls.push(
        [`${method}(options: string)`, () => call('fast'), 'ERR_INVALID_ARG_TYPE'],
        [`${method}(options: null)`, () => call(null), 'ERR_INVALID_ARG_TYPE'],
        [`${method}(signal: object)`, () => call({ signal: {} }), 'ERR_INVALID_ARG_TYPE'],
      );
    }
    for (const [what, call, code] of calls) {
      const err = await rejection(call());
      expect(err.code, `${what}: ${err.stack}`).to.equal(code);
    }
    // Chunks of the wrong type are found only once reading starts.
    const err = await rejection(driver.applyDiff('child', undefined, Readable.from(['text', 'chunks'])));
    expect(err.code).to.equal('ERR_INVALID_ARG_TYPE');
    await driver.remove('child');
    expect(namesUnder(root).filter((name) => !name.endsWith('child'))).to.deep.equal(before.filter((name) => !name.endsWith('child')));
  });

  it('reports syscall errors for a root that became a file, and recovers once it is back', async () => {
    const saved = path.join(scratch.dir, 'saved');
    execFileSync('mv', [root, saved]);
    writeFileSync(root, 'not a directory');
    const d = driver as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const calls = { ...idCalls(driver, 'base'), layers: () => d.layers(), incomplete: () => d.incomplete(), status: () => d.status(), cleanup: () => d.cleanup() };
    for (const [name, call] of Object.entries(calls)) {
      const err = await rejection(call());
      expect(err.code, `${name}: ${err.stack}`).to.equal('ENOTDIR');
      expect(err.path, name).to.match(new RegExp(`^${root}/`));
    }
    expect((await rejection(init(root, PROGRAM_OPTIONS))).code).to.equal('EEXIST');
    rmSync(root);
    execFileSync('mv', [saved, root]);
    expect((await driver.layers()).sort()).to.deep.equal(['base', 'child']);
  });

  describe('a read-only root', () => {
    let disk: string;
    beforeEach(async () => {
      disk = path.join(scratch.dir, 'disk');
      mkdirSync(disk);
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', disk]);
      root = path.join(disk, 'root');
      driver = await programDriver(root);
      await driver.create('base');
      await driver.applyDiff('base', undefined, streamOf(pythonTar([{ name: 'etc/os', data: 'base' }])));
      await driver.create('child', 'base');
      writeTree(path.join(root, 'diff', 'child'), { '.wh.etc': '', app: 'app' });
    });
    afterEach(() => execFileSync('umount', [disk]));

    it('serves reads, refuses writes with EROFS, and changes nothing', async () => {
      const before = snapshot(root);
      // The owner's lock does not keep the filesystem from going read-only.
      execFileSync('mount', ['-o', 'remount,ro', disk]);
      await driver.close();
      const ro = await init(root, PROGRAM_OPTIONS);
      expect((await ro.layers()).sort()).to.deep.equal(['base', 'child']);
      expect(await ro.parents('child')).to.deep.equal(['base']);
      expect(await ro.diffSize('base')).to.equal(4);
      expect(await ro.changes('child')).to.have.length(2);
      expect(await ro.incomplete()).to.deep.equal([]);
      let bytes = 0;
      for await (const chunk of await ro.diff('base')) bytes += (chunk as Buffer).length;
      expect(bytes).to.be.greaterThan(1024);
      expect(await ro.get('base')).to.equal(path.join(root, 'diff', 'base'));
      await ro.put('base');

      for (const [what, call] of Object.entries({
        create: () => ro.create('new'),
        'create child': () => ro.create('new', 'child'),
        remove: () => ro.remove('child'),
        get: () => ro.get('child'),
        applyDiff: () => ro.applyDiff('child', undefined, streamOf(EMPTY_TAR)),
      })) {
        expect((await rejection(call())).code, what).to.equal('EROFS');
      }
      execFileSync('mount', ['-o', 'remount,rw', disk]);
      expect(snapshot(root)).to.deep.equal(before);
      await ro.remove('child');
      await ro.remove('base');
      await ro.close();
    });

    it('refuses init with EROFS when the layout is not all there', async () => {
      rmSync(path.join(root, 'incomplete'), { recursive: true });
      await driver.close();
      execFileSync('mount', ['-o', 'remount,ro', disk]);
      const err = await rejection(init(root, PROGRAM_OPTIONS));
      expect(err.code).to.equal('EROFS');
      expect(err.path).to.equal(path.join(root, 'incomplete'));
      execFileSync('mount', ['-o', 'remount,rw', disk]);
    });
  });

  describe('corrupt layers files', () => {
    const corruptions: Record<string, (file: string) => void> = {
      'cut inside an id': (file) => writeFileSync(file, 'child\nba'),
      'binary garbage': (file) => writeFileSync(file, Buffer.from([0xff, 0x00, 0x2f, 0x0a, 0x41, 0x0a])),
      'a parent twice': (file) => writeFileSync(file, 'child\nbase\nchild\n'),
      'naming itself': (file) => writeFileSync(file, 'bad\n'),
      'a symlink to a host file': (file) => symlinkSync('/etc/passwd', file),
      'a directory': (file) => mkdirSync(file),
      'a FIFO': (file) => execFileSync('mkfifo', [file]),
      'megabytes long': (file) => writeFileSync(file, 'base\n'.repeat(300_000)),
    };
    for (const [what, corrupt] of Object.entries(corruptions)) {
      it(`refuses a layers file ${what} with ERR_CORRUPT_LAYER where the chain matters, and removes the layer`, async () => {
        await driver.create('bad', 'child');
        writeTree(path.join(root, 'diff', 'bad'), { own: 'file' });
        rmSync(path.join(root, 'layers', 'bad'));
        corrupt(path.join(root, 'layers', 'bad'));

        expect(await driver.exists('bad')).to.equal(true);
        expect((await driver.layers()).sort()).to.deep.equal(['bad', 'base', 'child']);
        for (const call of [() => driver.get('bad'), () => driver.changes('bad'), () => driver.create('on-bad', 'bad')]) {
          const err = await rejection(call());
          expect(err.code, err.stack).to.equal('ERR_CORRUPT_LAYER');
          expect(err.path).to.equal(path.join(root, 'layers', 'bad'));
          expect(err.message).to.not.include('root:'); // nothing of a host file
        }
        // What needs only the layer's own files works.
        expect(await driver.diffSize('bad')).to.equal(4);
        await driver.applyDiff('bad', undefined, streamOf(pythonTar([{ name: 'more', data: 'x' }])));
        expect(await driver.exists('on-bad')).to.equal(false);
        await driver.remove('bad');
        expect(await driver.exists('bad')).to.equal(false);
        for (const dir of ['layers', 'diff', 'mnt']) expect(readdirSync(path.join(root, dir)).sort(), dir).to.deep.equal(['base', 'child']);
        // A restart has nothing to complain about.
        await driver.close();
        await (await init(root, PROGRAM_OPTIONS)).close();
      });
    }
  });

  describe('tars cut anywhere', () => {
    for (const format of ['pax', 'gnu'] as const) {
      it(`applies a ${format} tar cut at any byte whole up to an entry, or refuses it with ERR_TAR_INVALID`, async () => {
        const tar = pythonTar(
          [
            { name: 'dir', type: 'dir' },
            { name: `dir/${'long-'.repeat(30)}name`, data: 'a'.repeat(700) },
            { name: 'dir/link', type: 'symlink', linkname: 'l'.repeat(150) },
            { name: 'dir/hard', type: 'link', linkname: `dir/${'long-'.repeat(30)}name` },
            { name: 'empty', data: '' },
            { name: 'last', data: 'b'.repeat(1500) },
          ],
          format,
        );
        await driver.create('whole');
        await driver.applyDiff('whole', undefined, streamOf(tar));
        const whole = describeTree(path.join(root, 'diff', 'whole'));
        const outcomes = { applied: 0, refused: 0 };
        for (let cut = 1; cut < tar.length; cut += cut % 512 < 16 || cut % 512 > 496 ? 1 : 29) {
          await driver.create('cut');
          const applied = await driver.applyDiff('cut', undefined, streamOf(tar.subarray(0, cut), 1 + (cut % 700))).then(
            () => true,
            (err: Error & { code?: string }) => {
              expect(err.code, `cut at ${cut}: ${err.stack}`).to.equal('ERR_TAR_INVALID');
              return false;
            },
          );
          outcomes[applied ? 'applied' : 'refused']++;
          expect(await driver.incomplete(), `cut at ${cut}`).to.deep.equal(applied ? [] : ['cut']);
          if (applied) {
            // Cut at an entry boundary: a shorter archive, every entry in it whole.
            for (const [rel, what] of Object.entries(describeTree(path.join(root, 'diff', 'cut')))) {
              expect(whole, `cut at ${cut}: ${rel}`).to.have.property(rel, what);
            }
          }
          await driver.remove('cut');
        }
        expect(outcomes.refused).to.be.greaterThan(outcomes.applied);
        expect(readdirSync(path.join(root, 'diff')).sort()).to.deep.equal(['base', 'child', 'whole']);
      });
    }
  });
});
