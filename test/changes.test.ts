import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

import { ChangeKind, formatChange, init, type Change, type Driver } from '../src';
import { rounds } from './helpers/sanitizers';
import { expectOk, runOracle } from './support/mobyOracle';

const MOUNT_PROGRAM = '/usr/bin/fuse-overlayfs';
/** Subtrees of the layer the walk's threads share out. */
const SUBTREES = rounds(64, 16);

describe('Driver.changes', () => {
  let root: string;
  let d: Driver;

  const diff = (id: string, rel = ''): string => path.join(root, 'diff', id, rel);
  const write = (id: string, rel: string, content = '', mode = 0o644): void => {
    fs.mkdirSync(path.dirname(diff(id, rel)), { recursive: true });
    fs.writeFileSync(diff(id, rel), content, { mode });
  };
  const mkdir = (id: string, rel: string, mode = 0o755): void => {
    fs.mkdirSync(diff(id, rel), { recursive: true, mode });
    fs.chmodSync(diff(id, rel), mode);
  };
  const whiteout = (id: string, rel: string): void =>
    write(id, path.join(path.dirname(rel), `.wh.${path.basename(rel)}`), '', 0o444);
  /** Gives `rel` in layer `to` the mtime (nanoseconds included) of `rel` in layer `from`. */
  const sameTimes = (to: string, from: string, rel: string): void => {
    const st = fs.statSync(diff(from, rel), { bigint: true });
    execFileSync('touch', ['-h', '-d', `@${st.mtimeNs / 1_000_000_000n}.${String(st.mtimeNs % 1_000_000_000n).padStart(9, '0')}`, diff(to, rel)]);
  };
  const setTime = (id: string, rel: string, seconds: string): void => {
    execFileSync('touch', ['-h', '-d', `@${seconds}`, diff(id, rel)]);
  };
  /** A chain of layers, farthest first: ['p0', 'p1', 'c'] makes c on p1 on p0. */
  const chain = async (...ids: string[]): Promise<void> => {
    for (let i = 0; i < ids.length; i++) await d.create(ids[i], i === 0 ? undefined : ids[i - 1]);
  };
  const list = async (id: string): Promise<string[]> => (await d.changes(id)).map(formatChange);

  beforeEach(async () => {
    root = fs.mkdtempSync('/tmp/aufs-changes-test-');
    d = await init(root, [`aufs.mount_program=${MOUNT_PROGRAM}`]);
  });

  afterEach(async () => {
    await d.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe('public types', () => {
    it('numbers kinds as moby does and formats changes as docker diff prints them', () => {
      expect([ChangeKind.Modify, ChangeKind.Add, ChangeKind.Delete]).to.deep.equal([0, 1, 2]);
      const changes: Change[] = [
        { path: '/change', kind: ChangeKind.Modify },
        { path: '/change', kind: ChangeKind.Add },
        { path: '/change', kind: ChangeKind.Delete },
      ];
      expect(changes.map(formatChange)).to.deep.equal(['C /change', 'A /change', 'D /change']);
    });

    it('resolves to Change objects with absolute paths', async () => {
      await chain('base', 'c');
      write('c', 'dir/file');
      expect(await d.changes('c')).to.deep.equal([
        { path: '/dir', kind: ChangeKind.Add },
        { path: '/dir/file', kind: ChangeKind.Add },
      ]);
    });
  });

  describe("moby's cases", () => {
    it('lists nothing for an empty layer over a populated parent', async () => {
      await chain('base', 'c');
      write('base', 'file1', 'file1\n');
      mkdir('base', 'dir1');
      write('base', 'dir1/file1-1');
      fs.symlinkSync('target1', diff('base', 'symlink1'));
      expect(await list('c')).to.deep.equal([]);
    });

    it('lists a layer without parents as additions only', async () => {
      await chain('c');
      write('c', 'b/x');
      write('c', 'a');
      expect(await list('c')).to.deep.equal(['A /a', 'A /b', 'A /b/x']);
    });

    it('lists a modified file, a deleted file and a new file in a new-timed subfolder', async () => {
      // TestChangesWithChanges
      await chain('base', 'c');
      mkdir('base', 'dir1', 0o740);
      write('base', 'dir1/file1-1', 'file1-1\n', 0o444);
      write('base', 'dir1/file1-2', 'file1-2\n');
      mkdir('base', 'dir1/subfolder', 0o740);
      mkdir('c', 'dir1', 0o740);
      whiteout('c', 'dir1/file1-2');
      write('c', 'dir1/file1-1', '\0', 0o444);
      mkdir('c', 'dir1/subfolder', 0o740);
      write('c', 'dir1/subfolder/newFile', '', 0o740);
      setTime('base', 'dir1', '1000');
      setTime('base', 'dir1/subfolder', '1000');
      expect(await list('c')).to.deep.equal([
        'C /dir1',
        'D /dir1/file1-2',
        'C /dir1/file1-1',
        'C /dir1/subfolder',
        'A /dir1/subfolder/newFile',
      ]);
    });

    it('GH13590: a re-created file in a copied tree, and a rewritten one', async () => {
      await chain('base', 'c1');
      await d.create('c2', 'base');
      write('base', 'dir1/dir2/dir3/file.txt', 'hello', 0o666);
      for (const id of ['c1', 'c2']) execFileSync('cp', ['-a', diff('base', 'dir1'), diff(id)]);
      fs.rmSync(diff('c1', 'dir1/dir2/dir3/file.txt'));
      write('c1', 'dir1/dir2/dir3/file1.txt', 'bye', 0o666);
      fs.writeFileSync(diff('c2', 'dir1/dir2/dir3/file.txt'), 'bye');
      expect(await list('c1')).to.deep.equal(['C /dir1/dir2/dir3', 'A /dir1/dir2/dir3/file1.txt']);
      expect(await list('c2')).to.deep.equal(['C /dir1/dir2/dir3/file.txt']);
    });

    it('GH13590: lists an unchanged directory right before the first addition or deletion in it', async () => {
      await chain('base', 'c');
      write('base', 'd/a', 'a');
      write('base', 'd/b', 'b');
      write('c', 'd/a', 'new a');
      write('c', 'd/c', 'c');
      whiteout('c', 'd/b');
      write('c', 'd/e', 'e');
      // Same size, mode and mtime: not a change by itself.
      fs.chmodSync(diff('c', 'd'), fs.statSync(diff('base', 'd')).mode);
      sameTimes('c', 'base', 'd');
      const [childSize, baseSize] = [fs.statSync(diff('c', 'd')).size, fs.statSync(diff('base', 'd')).size];
      expect(childSize).to.equal(baseSize);
      expect(await list('c')).to.deep.equal(['C /d', 'D /d/b', 'C /d/a', 'A /d/c', 'A /d/e']);
      // Without the deletion, the first addition comes after a modification.
      fs.rmSync(diff('c', 'd/.wh.b'));
      sameTimes('c', 'base', 'd');
      expect(await list('c')).to.deep.equal(['C /d/a', 'C /d', 'A /d/c', 'A /d/e']);
    });

    it('reports new nested directories and files as additions, parents first', async () => {
      await chain('base', 'c');
      write('base', 'keep');
      write('c', 'x/y/z/file');
      mkdir('c', 'x/empty');
      expect(await list('c')).to.deep.equal(['A /x', 'A /x/empty', 'A /x/y', 'A /x/y/z', 'A /x/y/z/file']);
    });

    it('does not list a directory that is unchanged in size, mode and mtime, and lists a changed one', async () => {
      await chain('base', 'c');
      for (const name of ['same', 'touched', 'chmodded', 'tolerant']) mkdir('base', name);
      for (const name of ['same', 'touched', 'chmodded', 'tolerant']) mkdir('c', name);
      for (const name of ['same', 'touched', 'chmodded']) sameTimes('c', 'base', name);
      setTime('base', 'touched', '1000.5');
      fs.chmodSync(diff('c', 'chmodded'), 0o700);
      // Whole seconds on one side match any time within that second.
      setTime('base', 'tolerant', '2000.25');
      setTime('c', 'tolerant', '2000');
      expect(await list('c')).to.deep.equal(['C /chmodded', 'C /touched']);
      // Both sides with different nanoseconds: a change.
      setTime('c', 'tolerant', '2000.5');
      expect(await list('c')).to.deep.equal(['C /chmodded', 'C /tolerant', 'C /touched']);
    });

    it('reports a file replaced by a directory, and a directory by a file, as modified', async () => {
      await chain('base', 'c');
      write('base', 'file5');
      mkdir('base', 'dir2');
      mkdir('c', 'file5');
      write('c', 'dir2', 'dir2\n');
      fs.symlinkSync('target2change', diff('c', 'symlink2'));
      fs.symlinkSync('target2', diff('base', 'symlink2'));
      expect(await list('c')).to.deep.equal(['C /dir2', 'C /file5', 'C /symlink2']);
    });
  });

  // A few names in a directory are looked up one syscall each; many are
  // answered by reading the parents' directory once. Padding with unchanged
  // empty directories, which list nothing, takes the second way.
  for (const [way, padded] of [
    ['looking names up one by one', false],
    ['reading parent directories whole', true],
  ] as const) {
    describe(`the union of the parent layers, ${way}`, () => {
      const PADS = 40;
      /** Same empty directories, times and modes in `rel` of layer `id` and of layer `parent`. */
      const pad = (id: string, parent: string, rel = ''): void => {
        if (!padded) return;
        for (let i = 0; i < PADS; i++) {
          for (const layer of [id, parent]) {
            mkdir(layer, path.join(rel, `~pad-${i}`));
            fs.utimesSync(diff(layer, path.join(rel, `~pad-${i}`)), 1000, 1000);
          }
        }
      };

      it('looks a path up in every parent, nearest first', async () => {
        await chain('p0', 'p1', 'p2', 'c');
        write('p0', 'far');
        write('p1', 'middle');
        write('p2', 'near');
        for (const name of ['far', 'middle', 'near', 'new']) write('c', name);
        pad('c', 'p2');
        expect(await list('c')).to.deep.equal(['C /far', 'C /middle', 'C /near', 'A /new']);
      });

      it('treats a file whited out in a nearer parent as absent: re-creating it is an addition', async () => {
        await chain('p0', 'p1', 'c');
        write('p0', 'etc/motd');
        write('p0', 'etc/issue');
        mkdir('p1', 'etc');
        whiteout('p1', 'etc/motd');
        write('c', 'etc/motd', 'again');
        write('c', 'etc/issue', 'changed');
        pad('c', 'p1');
        pad('c', 'p1', 'etc');
        sameTimes('c', 'p1', 'etc');
        expect(await list('c')).to.deep.equal(['C /etc/issue', 'C /etc', 'A /etc/motd']);
      });

      it('hides everything below a whited-out directory, an opaque directory or a non-directory', async () => {
        await chain('p0', 'p1', 'c');
        write('p0', 'gone/old');
        write('p0', 'opaque/old');
        write('p0', 'opaque/kept-below');
        write('p0', 'flat/old');
        whiteout('p1', 'gone');
        write('p1', 'opaque/.wh..wh..opq');
        write('p1', 'opaque/kept-below');
        write('p1', 'flat', 'now a file');
        write('c', 'gone/old');
        write('c', 'opaque/old');
        write('c', 'opaque/kept-below');
        write('c', 'flat/old');
        pad('c', 'p1');
        pad('c', 'p1', 'opaque');
        setTime('p1', 'opaque', '1000');
        expect(await list('c')).to.deep.equal([
          'C /flat',
          'A /flat/old',
          'A /gone',
          'A /gone/old',
          'C /opaque',
          'C /opaque/kept-below',
          'A /opaque/old',
        ]);
      });

      it('understands overlay-form whiteouts and opaque directories in a parent', async () => {
        await chain('p0', 'p1', 'c');
        write('p0', 'a/deleted');
        write('p0', 'a/kept');
        write('p0', 'o/hidden');
        mkdir('p1', 'a');
        execFileSync('mknod', [diff('p1', 'a/deleted'), 'c', '0', '0']);
        mkdir('p1', 'o');
        setOpaqueXattr(diff('p1', 'o'));
        for (const rel of ['a/deleted', 'a/kept', 'o/hidden']) write('c', rel);
        for (const rel of ['', 'a', 'o']) pad('c', 'p1', rel);
        for (const rel of ['a', 'o']) setTime('c', rel, '3000');
        expect(await list('c')).to.deep.equal(['C /a', 'A /a/deleted', 'C /a/kept', 'C /o', 'A /o/hidden']);
      });

      it('never follows a symlink of a parent, whether it points out of the layer or inside it', async () => {
        await chain('base', 'c');
        // Docker's os.Stat resolved these on the host and in the layer: C, C.
        fs.symlinkSync('/etc', diff('base', 'etc'));
        write('base', 'usr/lib/libc.so');
        fs.symlinkSync('usr/lib', diff('base', 'lib'));
        write('c', 'etc/passwd');
        write('c', 'lib/libc.so');
        pad('c', 'base');
        expect(fs.existsSync('/etc/passwd')).to.equal(true);
        expect(await list('c')).to.deep.equal(['C /etc', 'A /etc/passwd', 'C /lib', 'A /lib/libc.so']);
      });
    });
  }

  describe('the parent chain', () => {
    it('takes the chain from the layers file, whatever parent is passed', async () => {
      await chain('p0', 'c');
      await d.create('other');
      write('p0', 'f');
      write('c', 'f');
      expect((await d.changes('c', 'other')).map(formatChange)).to.deep.equal(['C /f']);
    });

    it('treats a parent whose diff directory is missing as empty', async () => {
      await chain('p0', 'c');
      fs.rmSync(diff('p0'), { recursive: true });
      write('c', 'f');
      expect(await list('c')).to.deep.equal(['A /f']);
    });
  });

  describe('aufs metadata', () => {
    it('never lists the top-level aufs bookkeeping or anything below it', async () => {
      await chain('base', 'c');
      write('c', '.wh..wh.aufs');
      write('c', '.wh..wh.plnk/1234.5678');
      write('c', '.wh..wh.orph/lost');
      mkdir('c', '.wh..wh.plnk/sub');
      write('c', '.wh..wh.other');
      write('c', 'real');
      expect(await list('c')).to.deep.equal(['A /real']);
    });

    it('never lists an opaque marker, and lists its directory', async () => {
      await chain('base', 'c');
      write('base', 'a/b/old');
      write('base', 'a/x');
      mkdir('c', 'a/b');
      write('c', '.wh..wh..opq');
      write('c', 'a/b/.wh..wh..opq');
      write('c', 'new/deep/.wh..wh..opq');
      for (const rel of ['a', 'a/b']) sameTimes('c', 'base', rel);
      expect(await list('c')).to.deep.equal(['C /a/b', 'A /new', 'A /new/deep']);
    });

    it('lists a whiteout as a deletion without entering it', async () => {
      await chain('base', 'c');
      write('base', 'dir/sub/file');
      mkdir('c', 'dir/.wh.sub/ignored');
      write('c', 'dir/.wh.', 'a file named like a bare prefix');
      sameTimes('c', 'base', 'dir');
      expect(await list('c')).to.deep.equal(['C /dir', 'A /dir/.wh.', 'D /dir/sub']);
    });
  });

  describe('a layer mounted by fuse-overlayfs', () => {
    it('lists overlay-form whiteouts and opaque directories exactly as their aufs form after put()', async () => {
      await chain('base', 'c');
      write('base', 'etc/passwd', 'root:x:0:0\n');
      write('base', 'etc/group', 'root:x:0:\n');
      write('base', 'var/lib/x/old');
      write('base', 'var/lib/x/older');
      write('base', 'home/u/.profile');
      write('base', 'opt/keep');
      const mnt = await d.get('c');
      fs.rmSync(path.join(mnt, 'etc/group'));
      fs.appendFileSync(path.join(mnt, 'etc/passwd'), 'u:x:1000:1000\n');
      fs.rmSync(path.join(mnt, 'var/lib/x'), { recursive: true });
      fs.mkdirSync(path.join(mnt, 'var/lib/x'));
      fs.writeFileSync(path.join(mnt, 'var/lib/x/new'), 'n');
      fs.rmSync(path.join(mnt, 'home/u'), { recursive: true });
      fs.mkdirSync(path.join(mnt, 'new/deep'), { recursive: true });
      fs.writeFileSync(path.join(mnt, 'new/deep/file'), 'f');

      // The upper directory really holds the overlay forms.
      expect(fs.statSync(diff('c', 'etc/group')).isCharacterDevice()).to.equal(true);
      expect(hasOpaqueXattr(diff('c', 'var/lib/x'))).to.equal(true);
      const mounted = await list('c');
      await d.put('c');
      expect(fs.existsSync(diff('c', 'etc/.wh.group'))).to.equal(true);
      expect(hasOpaqueXattr(diff('c', 'var/lib/x'))).to.equal(false);
      const unmounted = await list('c');

      expect(mounted).to.deep.equal(unmounted);
      expect(unmounted).to.deep.equal([
        'C /etc',
        'D /etc/group',
        'C /etc/passwd',
        'C /home',
        'D /home/u',
        'A /new',
        'A /new/deep',
        'A /new/deep/file',
        'C /var',
        'C /var/lib',
        'C /var/lib/x',
        'A /var/lib/x/new',
      ]);
    });

    it('lists an overlay whiteout in an unchanged directory where its aufs form sorts', async () => {
      await chain('base', 'c');
      write('base', 'd/zeta');
      write('base', 'd/-dash');
      mkdir('c', 'd');
      write('c', 'd/-dash', 'changed');
      execFileSync('mknod', [diff('c', 'd/zeta'), 'c', '0', '0']);
      fs.writeFileSync(diff('c', 'd/alpha'), 'new');
      execFileSync('mknod', [diff('c', 'd/.wh..opq'), 'c', '0', '0']);
      setOpaqueXattr(diff('c', 'd'));
      sameTimes('c', 'base', 'd');
      // In aufs form the names sort -dash, .wh..wh..opq, .wh.zeta, alpha.
      expect(await list('c')).to.deep.equal(['C /d/-dash', 'C /d', 'D /d/zeta', 'A /d/alpha']);
    });
  });

  describe('errors and cancellation', () => {
    it('rejects an unknown layer with ERR_LAYER_NOT_FOUND and a bad id with ERR_INVALID_ID', async () => {
      await expectRejection(d.changes('missing'), 'ERR_LAYER_NOT_FOUND');
      await expectRejection(d.changes('../x'), 'ERR_INVALID_ID');
    });

    it('rejects a layer whose diff directory is gone with ERR_LAYER_NOT_FOUND', async () => {
      await chain('c');
      fs.rmSync(diff('c'), { recursive: true });
      await expectRejection(d.changes('c'), 'ERR_LAYER_NOT_FOUND');
    });

    it('rejects at once with an AbortError when the signal has already aborted', async () => {
      await chain('c');
      write('c', 'f');
      const reason = new Error('stop');
      const err = await expectRejection(d.changes('c', undefined, { signal: AbortSignal.abort(reason) }), 'ABORT_ERR');
      expect(err.name).to.equal('AbortError');
      expect(err.cause).to.equal(reason);
    });

    it('stops a walk of a big tree when the signal aborts during it', async () => {
      await chain('base', 'c');
      execFileSync('python3', ['-c', MAKE_BIG_TREE, diff('c'), diff('base')]);
      const all = await d.changes('c');
      expect(all.length).to.be.greaterThan(10_000);
      const controller = new AbortController();
      const walk = d.changes('c', undefined, { signal: controller.signal });
      setImmediate(() => controller.abort());
      const err = await expectRejection(walk, 'ABORT_ERR');
      expect(err.name).to.equal('AbortError');
      // The layer is still usable afterwards.
      expect(await d.changes('c')).to.deep.equal(all);
    });
  });

  describe('a tree that changes during the walk', () => {
    it('skips entries that vanish in the layer or its parent instead of failing', async () => {
      await chain('base', 'c');
      execFileSync('python3', ['-c', MAKE_BIG_TREE, diff('c'), diff('base')]);
      const churn = spawn('python3', ['-c', CHURN, diff('c'), diff('base')], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await once(churn.stdout, 'data');
        for (let i = 0; i < 6; i++) {
          const changes = await d.changes('c');
          expect(changes.length).to.be.greaterThan(2_000);
          expect(changes.every((c) => /^\/d\d{3}(\/f\d{3})?$/.test(c.path))).to.equal(true);
        }
      } finally {
        churn.kill();
        await once(churn, 'exit');
      }
    });
  });

  describe("agreement with moby's archive.Changes", () => {
    // Random trees of the kind where moby had no fault: no symlinks or
    // whiteouts in parents, no file in one layer where another has a directory.
    // (test/differential.test.ts compares thousands of other layers.)
    /** What moby's Changes (test/oracle) lists for c over p2, p1, p0. */
    const mobyChanges = async (): Promise<string[]> => {
      const [answer] = await runOracle([{ op: 'changes', dir: diff('c'), layers: ['p2', 'p1', 'p0'].map((id) => diff(id)) }]);
      return (expectOk(answer, 'changes').changes ?? []).map((c) => `${c.kind} ${Buffer.from(c.path, 'hex').toString()}`);
    };
    for (let seed = 1; seed <= 25; seed++) {
      it(`lists what moby lists, in the same order (seed ${seed})`, async () => {
        const ids = ['p0', 'p1', 'p2', 'c'];
        await chain(...ids);
        // Odd seeds pad directories so that their parents are read whole.
        makeRandomLayers(seed, ids.map((id) => diff(id)), seed % 2 === 1);
        const expected = await mobyChanges();
        expect(expected.length).to.be.greaterThan(0);
        expect(await list('c')).to.deep.equal(expected);
      });
    }

    it(`lists what moby lists, in the same order, when threads share the walk (${SUBTREES} random subtrees)`, async () => {
      const ids = ['p0', 'p1', 'p2', 'c'];
      await chain(...ids);
      for (let part = 0; part < SUBTREES; part++) {
        makeRandomLayers(100 + part, ids.map((id) => diff(id, `part${part}`)), part % 2 === 1);
      }
      expect(await list('c')).to.deep.equal(await mobyChanges());
    });
  });
});

async function expectRejection(promise: Promise<unknown>, code: string): Promise<Error & { cause?: unknown }> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.have.property('code', code);
    return err as Error;
  }
  throw new Error(`expected a rejection with ${code}`);
}

function setOpaqueXattr(dir: string): void {
  execFileSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")', dir]);
}

function hasOpaqueXattr(dir: string): boolean {
  const out = execFileSync('python3', ['-c', 'import os,sys; print("trusted.overlay.opaque" in os.listxattr(sys.argv[1]))', dir], {
    encoding: 'utf8',
  });
  return out.trim() === 'True';
}

// 100 directories of 100 files in the layer, half of them also in its parent.
const MAKE_BIG_TREE = `
import os, sys
layer, parent = sys.argv[1], sys.argv[2]
for i in range(100):
    for top in (layer, parent) if i % 2 else (layer,):
        d = os.path.join(top, 'd%03d' % i)
        os.makedirs(d, exist_ok=True)
        for j in range(100):
            open(os.path.join(d, 'f%03d' % j), 'w').close()
`;

// Deletes and re-creates files and whole directories of both layers until
// killed; says "go" once running.
const CHURN = `
import os, shutil, sys
print('go', flush=True)
i = 0
while True:
    for top in sys.argv[1:]:
        d = os.path.join(top, 'd%03d' % (i % 100))
        f = os.path.join(d, 'f%03d' % (i % 100))
        if i % 7 == 0:
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d, exist_ok=True)
        else:
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
            os.makedirs(d, exist_ok=True)
            open(f, 'w').close()
    i += 1
`;

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Node {
  rel: string;
  dir: boolean;
  padded: boolean;
  children: Node[];
}

/**
 * Fills `dirs` (parents farthest first, the layer last) from one universe of
 * paths, so that a path has the same type in every layer. The layer copies
 * some parent directories with their times, modifies, adds and whites out.
 * `padded` adds unchanged empty directories to some directories.
 */
function makeRandomLayers(seed: number, dirs: string[], padded: boolean): void {
  const rand = random(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)];
  const pads = (dir: string): void => {
    for (let i = 0; i < 40; i++) {
      fs.mkdirSync(path.join(dir, `~pad-${i}`), { recursive: true });
      fs.utimesSync(path.join(dir, `~pad-${i}`), 1000, 1000);
    }
  };
  const universe = (rel: string, depth: number): Node[] =>
    Array.from({ length: 2 + Math.floor(rand() * 6) }, (_, i) => {
      const dir = depth < 3 && rand() < 0.5;
      const name = `${dir ? 'd' : 'f'}${i}${pick(['', '-x', '.y', 'Z'])}`;
      const child = rel === '' ? name : `${rel}/${name}`;
      return { rel: child, dir, padded: dir && padded && rand() < 0.5, children: dir ? universe(child, depth + 1) : [] };
    });
  const top = universe('', 0);
  const times = ['1000', '1000.5', '2000', '2000.25'];
  const layer = dirs[dirs.length - 1];
  const parents = dirs.slice(0, -1);
  const stamps: Array<[string, string]> = [];

  const fillParent = (base: string, nodes: Node[]): void => {
    for (const node of nodes) {
      if (rand() < 0.3) continue;
      const p = path.join(base, node.rel);
      if (node.dir) {
        fs.mkdirSync(p, { recursive: true, mode: pick([0o755, 0o700]) });
        if (node.padded) pads(p);
        fillParent(base, node.children);
        stamps.push([p, pick(times)]);
      } else {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, node.rel);
      }
    }
  };
  for (const parent of parents) {
    if (padded) pads(parent);
    fillParent(parent, top);
  }
  // Deepest first, so that later writes do not move a directory's mtime.
  const applyStamps = (): void => {
    stamps.sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [p, time] of stamps) execFileSync('touch', ['-h', '-d', `@${time}`, p]);
    stamps.length = 0;
  };
  applyStamps();

  const nearest = (rel: string): fs.Stats | undefined => {
    for (const parent of [...parents].reverse()) {
      const st = fs.lstatSync(path.join(parent, rel), { throwIfNoEntry: false });
      if (st !== undefined) return st;
    }
    return undefined;
  };
  const fillLayer = (nodes: Node[], parentRel: string): void => {
    const dirPath = path.join(layer, parentRel);
    fs.mkdirSync(dirPath, { recursive: true });
    for (const node of nodes) {
      const p = path.join(layer, node.rel);
      const roll = rand();
      if (roll < 0.15) {
        fs.writeFileSync(path.join(dirPath, `.wh.${path.basename(node.rel)}`), '');
      } else if (node.dir && roll < 0.7) {
        fillLayer(node.children, node.rel);
        if (node.padded) pads(p);
        const old = nearest(node.rel);
        if (old?.isDirectory() && rand() < 0.6) {
          fs.chmodSync(p, old.mode & 0o7777);
          stamps.push([p, `${old.mtimeMs / 1000}`]);
        }
      } else if (!node.dir && roll < 0.5) {
        fs.writeFileSync(p, `changed ${seed}`);
      }
    }
    if (parentRel === '' || rand() < 0.3) fs.writeFileSync(path.join(dirPath, `new${Math.floor(rand() * 10)}`), '');
    if (rand() < 0.2) fs.mkdirSync(path.join(dirPath, 'newdir/sub'), { recursive: true });
    if (rand() < 0.1) fs.symlinkSync('/etc', path.join(dirPath, 'link'));
  };
  if (padded) pads(layer);
  fillLayer(top, '');
  applyStamps();
}
