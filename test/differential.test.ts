// Differential tests against moby's own code (test/oracle, built from
// Debian's golang-github-docker-docker-dev): on thousands of seeded random
// layers, diff() writes the bytes Docker's aufs driver writes, changes() and
// diffSize() answer what it answers, and applyDiff() of the tar it writes
// makes the tree its extraction makes; then, one test each, what we do
// otherwise on purpose. TEST_SEED=N replays a run, DIFFERENTIAL_CASES=N sizes it.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import { formatChange, init, type Driver } from '../src';
import { rounds } from './helpers/sanitizers';
import { testSeed } from './helpers/random';
import {
  buildOracle,
  expectOk,
  runOracle,
  type ManifestEntry,
  type MobyChange,
  type OracleRequest,
  type TreeSpecEntry,
} from './support/mobyOracle';
import { randomCase, type LayerCase } from './support/randomLayers';
import { scanTar, tarDifference } from './support/tarScan';

const SEED = testSeed();
/** Random layers per run, and per oracle process. */
const CASES = Number(process.env.DIFFERENTIAL_CASES ?? rounds(3000, 300));
const BATCH = 100;
const MOUNT_PROGRAM = '/usr/bin/fuse-overlayfs';

/**
 * What moby's Changes lists and we do not, on purpose. Everything else it
 * lists, we list, in its order.
 */
const MOBY_CHANGES_WE_LEAVE_OUT: ReadonlyArray<{ why: string; is: (c: { kind: string; path: Buffer }) => boolean }> = [
  {
    why:
      "aufs's bookkeeping below its top-level .wh..wh.* names (the pseudo-links in .wh..wh.plnk, " +
      '.wh..wh.orph): moby skips the top-level names only, and lists what is below them, with the ' +
      'name itself as its parent; they are not layer contents, and no tar of the layer holds them',
    is: (c) => /^\/\.wh\.\.wh\.[^/]*(\/|$)/.test(c.path.toString('latin1')),
  },
  {
    why:
      "an opaque marker (dir/.wh..wh..opq), which moby lists as the deletion of a file named " +
      "'.wh..opq' (D dir/.wh..opq): nothing of that name was deleted",
    is: (c) => c.kind === 'D' && path.posix.basename(c.path.toString('latin1')) === '.wh..opq',
  },
];

function caseSeed(index: number): number {
  return (Math.imul(SEED ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

function sha(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

/** The first `n` bytes of the stream, which is then destroyed. */
async function firstBytes(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= n) break;
  }
  return Buffer.concat(chunks).subarray(0, n);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** moby's changes as formatChange prints ours (paths decoded as the addon decodes them). */
function mobyChangeLines(changes: readonly MobyChange[]): string[] {
  return changes
    .map((c) => ({ kind: c.kind, path: sha(c.path) }))
    .filter((c) => !MOBY_CHANGES_WE_LEAVE_OUT.some((fault) => fault.is(c)))
    .map((c) => `${c.kind} ${c.path.toString('utf8')}`);
}

/** The last second moby's system.Chtimes sets: time.Unix(0, 1<<63-1), in 2262. */
const MOBY_MAX_MTIME = 9_223_372_036;

/**
 * Our extraction's manifest as moby's must be: we set the tar's times;
 * moby's system.Chtimes sets a time before 1970 or after MOBY_MAX_MTIME to
 * the epoch, and a symlink's (set with LUtimesNano) goes through int64
 * nanoseconds, which wrap past 2262.
 */
function asMobyWouldTime(entries: readonly ManifestEntry[]): ManifestEntry[] {
  return entries.map((e) => {
    if (e.type === 'symlink') {
      const ns = BigInt.asIntN(64, BigInt(e.mtime) * 1_000_000_000n + BigInt(e.nsec));
      const seconds = ns / 1_000_000_000n - (ns % 1_000_000_000n < 0n ? 1n : 0n);
      return { ...e, mtime: Number(seconds), nsec: Number(ns - seconds * 1_000_000_000n) };
    }
    return e.mtime < 0 || e.mtime > MOBY_MAX_MTIME ? { ...e, mtime: 0, nsec: 0 } : e;
  });
}

/** A scratch tmpfs (fsync and syncfs cost nothing there), with a driver root in it. */
async function scratchRoot(): Promise<{ dir: string; driver: Driver; dispose: () => Promise<void> }> {
  const dir = fs.mkdtempSync('/tmp/aufs-differential-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4g', 'tmpfs', dir]);
  const driver = await init(path.join(dir, 'root'), [`aufs.mount_program=${MOUNT_PROGRAM}`]);
  return {
    dir,
    driver,
    dispose: async () => {
      await driver.close();
      execFileSync('umount', [dir]);
      fs.rmdirSync(dir);
    },
  };
}

/** Runs `cases` against the oracle in one process (two: the second describes our extractions). */
async function compareBatch(first: number, cases: readonly LayerCase[]): Promise<string[]> {
  const { dir, driver, dispose } = await scratchRoot();
  const failures: string[] = [];
  try {
    const diffDir = (id: string): string => path.join(dir, 'root', 'diff', id);
    const ids = cases.map((_, i) => `c${first + i}`);
    const parentIds = cases.map((c, i) => c.parents.map((_, k) => `${ids[i]}-p${k}`));
    const build: OracleRequest[] = [];
    const ask: OracleRequest[] = [];
    for (const [i, c] of cases.entries()) {
      const chain = [...parentIds[i]].reverse();
      for (const [k, parent] of chain.entries()) await driver.create(parent, k === 0 ? undefined : chain[k - 1]);
      await driver.create(ids[i], chain.at(-1));
      await driver.create(`${ids[i]}-x`);
      c.parents.forEach((entries, k) => build.push({ op: 'build', dir: diffDir(parentIds[i][k]), entries }));
      build.push({ op: 'build', dir: diffDir(ids[i]), entries: c.layer });
      const tar = path.join(dir, `${ids[i]}.tar`);
      const extracted = path.join(dir, 'moby', ids[i]);
      ask.push(
        { op: 'tar', dir: diffDir(ids[i]), tar },
        { op: 'changes', dir: diffDir(ids[i]), layers: parentIds[i].map(diffDir) },
        { op: 'size', dir: diffDir(ids[i]) },
        { op: 'untar', tar, dir: extracted },
        { op: 'manifest', dir: extracted },
        { op: 'size', dir: extracted },
      );
    }
    const answers = await runOracle([...build, ...ask]);
    answers.slice(0, build.length).forEach((a, n) => expectOk(a, `build ${(build[n] as { dir: string }).dir}`));
    const moby = answers.slice(build.length);

    for (const [i, id] of ids.entries()) {
      const [tar, changes, size, untar, , extractedSize] = moby.slice(6 * i, 6 * i + 6);
      const fail = (what: string): void => {
        failures.push(`case ${first + i} (TEST_SEED=${SEED}): ${what}`);
      };
      expectOk(tar, 'tar');
      const mobyTar = fs.readFileSync(path.join(dir, `${id}.tar`));
      const difference = tarDifference(await collect(await driver.diff(id)), mobyTar);
      if (difference !== undefined) fail(`diff() is not moby's tar: ${difference}`);

      if (changes.error !== undefined) {
        fail(`moby's Changes failed: ${changes.error}`);
      } else {
        const ours = (await driver.changes(id)).map(formatChange);
        const theirs = mobyChangeLines(changes.changes ?? []);
        if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
          fail(`changes() ${JSON.stringify(ours)}, moby ${JSON.stringify(theirs)}`);
        }
      }
      const ourSize = await driver.diffSize(id);
      if (ourSize !== expectOk(size, 'size').size) fail(`diffSize() ${ourSize}, moby ${size.size}`);

      if (untar.error !== undefined) {
        fail(`moby's extraction failed: ${untar.error}`);
        continue;
      }
      // The addon reads a plain tar file itself; other streams come through JavaScript.
      const source = i % 2 === 0 ? fs.createReadStream(path.join(dir, `${id}.tar`)) : Readable.from([mobyTar]);
      const applied = await driver.applyDiff(`${id}-x`, undefined, source);
      if (applied !== expectOk(extractedSize, 'size').size) fail(`applyDiff() answered ${applied}, moby's tree has ${extractedSize.size}`);
    }

    const ourManifests = await runOracle(ids.map((id) => ({ op: 'manifest', dir: diffDir(`${id}-x`) })));
    for (let i = 0; i < ids.length; i++) {
      const theirs = moby[6 * i + 4];
      if (theirs.error !== undefined || moby[6 * i + 3].error !== undefined) continue;
      const ours = asMobyWouldTime(expectOk(ourManifests[i], 'manifest').entries ?? []);
      const expected = theirs.entries ?? [];
      const at = ours.findIndex((e, n) => JSON.stringify(e) !== JSON.stringify(expected[n]));
      if (at >= 0 || ours.length !== expected.length) {
        const n = at >= 0 ? at : Math.min(ours.length, expected.length);
        failures.push(
          `case ${first + i} (TEST_SEED=${SEED}): applyDiff() of moby's tar makes ` +
            `${JSON.stringify(ours[n])} where moby's extraction makes ${JSON.stringify(expected[n])}`,
        );
      }
    }
  } finally {
    await dispose();
  }
  return failures;
}

/** The first two failures of each call that disagreed. */
function firstOfEachKind(failures: readonly string[]): string[] {
  const kinds = new Map<string, string[]>();
  for (const failure of failures) {
    const kind = /\): (\w+)/.exec(failure)?.[1] ?? '';
    kinds.set(kind, [...(kinds.get(kind) ?? []), failure].slice(0, 2));
  }
  return [...kinds.values()].flat();
}

describe(`agreement with moby on random layers (${CASES} of them, TEST_SEED=${SEED})`, function () {
  this.timeout(600_000);

  for (let first = 0; first < CASES; first += BATCH) {
    const count = Math.min(BATCH, CASES - first);
    it(`diff(), changes(), diffSize() and applyDiff() of layers ${first}-${first + count - 1} agree with moby`, async () => {
      const cases = Array.from({ length: count }, (_, i) => randomCase(caseSeed(first + i)));
      const failures = await compareBatch(first, cases);
      if (failures.length > 0) expect.fail(`${failures.length} disagreements:\n${firstOfEachKind(failures).join('\n')}`);
    });
  }
});

describe('agreement with moby where random layers do not go', function () {
  this.timeout(120_000);
  let scratch: Awaited<ReturnType<typeof scratchRoot>>;
  const diffDir = (id: string): string => path.join(scratch.dir, 'root', 'diff', id);

  before(async () => {
    scratch = await scratchRoot();
  });

  after(async () => {
    await scratch.dispose();
  });

  it('writes the size of a file of 8 GiB and more in a PAX record', async () => {
    await scratch.driver.create('huge');
    const entries: TreeSpecEntry[] = [{ path: Buffer.from('huge'), type: 'file', size: 2 ** 33 + 1, sparse: true }];
    const tar = `${diffDir('huge')}.tar`;
    // The PAX header, its records and the file's header: the contents are Go's io.Copy and ours.
    const limit = 3 * 512;
    const [built, moby] = await runOracle([
      { op: 'build', dir: diffDir('huge'), entries },
      { op: 'tar', dir: diffDir('huge'), tar, limit },
    ]);
    expectOk(built, 'build');
    expectOk(moby, 'tar');
    const ours = await firstBytes(await scratch.driver.diff('huge'), limit);
    expect(ours.includes('size=8589934593\n')).to.equal(true);
    const difference = tarDifference(ours, fs.readFileSync(tar));
    if (difference !== undefined) expect.fail(difference);
  });

  it('writes user and group names over 32 bytes or not ASCII in PAX records, as the host databases give them', async () => {
    // A mount namespace of its own shows the addon and Go these databases.
    const names = ['a-user-name-of-37-bytes-not-to-fit-it', 'ünïcødé', 'exactly-thirty-two-bytes-long-ab'];
    const passwd = path.join(scratch.dir, 'passwd');
    const group = path.join(scratch.dir, 'group');
    fs.writeFileSync(passwd, ['root:x:0:0::/root:/bin/sh', ...names.map((n, i) => `${n}:x:${5001 + i}:${5001 + i}::/:/bin/false`), ''].join('\n'));
    fs.writeFileSync(group, ['root:x:0:', ...names.map((n, i) => `${n}:x:${5001 + i}:`), ''].join('\n'));
    await scratch.driver.create('named');
    const entries = names.map((_, i): TreeSpecEntry => ({ path: Buffer.from(`f${i}`), type: 'file', uid: 5001 + i, gid: 5001 + i }));
    expectOk((await runOracle([{ op: 'build', dir: diffDir('named'), entries }]))[0], 'build');
    const requests = path.join(scratch.dir, 'requests');
    const mobyTar = path.join(scratch.dir, 'named-moby.tar');
    const ourTar = path.join(scratch.dir, 'named-ours.tar');
    fs.writeFileSync(requests, `${JSON.stringify({ op: 'tar', dir: diffDir('named'), tar: mobyTar })}\n`);
    execFileSync('unshare', [
      '--mount',
      '--propagation=private',
      'sh',
      '-c',
      'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && "$3" < "$4" && exec node --import tsx "$5" "$6" named "$7"',
      'sh',
      passwd,
      group,
      buildOracle(),
      requests,
      path.join(__dirname, 'support', 'diffToFile.ts'),
      path.join(scratch.dir, 'root'),
      ourTar,
    ]);
    const ours = fs.readFileSync(ourTar);
    const pax = scanTar(ours).map((e) => Object.fromEntries([...e.pax].map(([k, v]) => [k, v.toString()])));
    expect(pax).to.deep.equal([
      { gname: names[0], uname: names[0] },
      { gname: names[1], uname: names[1] },
      {},
    ]);
    const difference = tarDifference(ours, fs.readFileSync(mobyTar));
    if (difference !== undefined) expect.fail(difference);
  });
});

describe('where we differ from moby on purpose', function () {
  this.timeout(120_000);
  let scratch: Awaited<ReturnType<typeof scratchRoot>>;
  let d: Driver;
  const diffDir = (id: string): string => path.join(scratch.dir, 'root', 'diff', id);
  const at = (p: string, entry: Omit<TreeSpecEntry, 'path'>): TreeSpecEntry => ({ path: Buffer.from(p), ...entry });
  let layers = 0;

  /** Builds the layers (farthest first, the layer last) and returns moby's changes and ours. */
  async function changesOf(...trees: TreeSpecEntry[][]): Promise<{ moby: { error?: string; lines: string[] }; ours: string[] }> {
    const ids = trees.map(() => `l${layers++}`);
    for (const [i, id] of ids.entries()) await d.create(id, i === 0 ? undefined : ids[i - 1]);
    const built = await runOracle(trees.map((entries, i) => ({ op: 'build', dir: diffDir(ids[i]), entries })));
    built.forEach((b) => expectOk(b, 'build'));
    const top = ids.at(-1)!;
    const [answer] = await runOracle([{ op: 'changes', dir: diffDir(top), layers: ids.slice(0, -1).reverse().map(diffDir) }]);
    const lines = (answer.changes ?? []).map((c) => `${c.kind} ${sha(c.path).toString()}`);
    return { moby: { error: answer.error, lines }, ours: (await d.changes(top)).map(formatChange) };
  }

  /** Builds a layer and returns moby's tar of it and ours. */
  async function tarsOf(entries: TreeSpecEntry[]): Promise<{ id: string; moby: Buffer; ours: Buffer }> {
    const id = `t${layers++}`;
    await d.create(id);
    const tar = `${diffDir(id)}.tar`;
    expectOk((await runOracle([{ op: 'build', dir: diffDir(id), entries }]))[0], 'build');
    expectOk((await runOracle([{ op: 'tar', dir: diffDir(id), tar }]))[0], 'tar');
    return { id, moby: fs.readFileSync(tar), ours: await collect(await d.diff(id)) };
  }

  before(async () => {
    scratch = await scratchRoot();
    d = scratch.driver;
  });

  after(async () => {
    await scratch.dispose();
  });

  describe('changes()', () => {
    it(`leaves out ${MOBY_CHANGES_WE_LEAVE_OUT[0].why}`, async () => {
      const { moby, ours } = await changesOf(
        [],
        [
          at('.wh..wh.plnk', { type: 'dir', mode: 0o700 }),
          at('file', { type: 'file', size: 1 }),
          at('.wh..wh.plnk/1234.5', { type: 'hardlink', target: Buffer.from('file') }),
        ],
      );
      expect(moby.lines).to.deep.equal(['C /.wh..wh.plnk', 'A /.wh..wh.plnk/1234.5', 'A /file']);
      expect(ours).to.deep.equal(['A /file']);
    });

    it(`leaves out ${MOBY_CHANGES_WE_LEAVE_OUT[1].why}`, async () => {
      const dir = { type: 'dir', mode: 0o755, mtime: 1000 } as const;
      const { moby, ours } = await changesOf(
        [at('d', dir), at('d/old', { type: 'file' })],
        [at('d', dir), at('d/.wh..wh..opq', { type: 'file', mode: 0o444 })],
      );
      expect(moby.lines).to.deep.equal(['C /d', 'D /d/.wh..opq']);
      expect(ours).to.deep.equal(['C /d']);
    });

    it("never follows a parent's symlink: moby's os.Stat looks the path up on the host", async () => {
      const { moby, ours } = await changesOf(
        [at('etc', { type: 'symlink', target: Buffer.from('/etc') })],
        [at('etc', { type: 'dir', mode: 0o755 }), at('etc/passwd', { type: 'file', size: 1 })],
      );
      expect(fs.existsSync('/etc/passwd')).to.equal(true);
      expect(moby.lines).to.deep.equal(['C /etc', 'C /etc/passwd']);
      expect(ours).to.deep.equal(['C /etc', 'A /etc/passwd']);
    });

    it("honours whiteouts and opaque markers in parents, which moby's lookups ignore", async () => {
      const dir = { type: 'dir', mode: 0o755, mtime: 1000 } as const;
      const { moby, ours } = await changesOf(
        [at('gone', { type: 'file' }), at('o', dir), at('o/old', { type: 'file' })],
        [at('.wh.gone', { type: 'file', mode: 0o444 }), at('o', dir), at('o/.wh..wh..opq', { type: 'file', mode: 0o444 })],
        [at('gone', { type: 'file', size: 1 }), at('o', dir), at('o/old', { type: 'file', size: 1 })],
      );
      expect(moby.lines).to.deep.equal(['C /gone', 'C /o/old']);
      expect(ours).to.deep.equal(['A /gone', 'C /o', 'A /o/old']);
    });

    it('does not enter a whiteout that is a directory, which moby lists the contents of', async () => {
      const { moby, ours } = await changesOf([], [at('.wh.sub', { type: 'dir', mode: 0o755 }), at('.wh.sub/x', { type: 'file' })]);
      expect(moby.lines).to.deep.equal(['D /sub', 'A /.wh.sub/x']);
      expect(ours).to.deep.equal(['D /sub']);
    });

    it("lists a directory over a parent's file, where moby's Changes fails with ENOTDIR", async () => {
      const { moby, ours } = await changesOf([at('x', { type: 'file' })], [at('x', { type: 'dir', mode: 0o755 }), at('x/y', { type: 'file' })]);
      expect(moby.error).to.match(/not a directory/);
      expect(ours).to.deep.equal(['C /x', 'A /x/y']);
    });
  });

  describe('diff()', () => {
    it('archives a 0/0 character device as the overlay whiteout it is to the mount program, where moby archives a device', async () => {
      const { moby, ours } = await tarsOf([at('gone', { type: 'chr', major: 0, minor: 0, mode: 0o600 })]);
      expect(moby.toString('latin1', 0, 4)).to.equal('gone');
      expect(moby[156]).to.equal('3'.charCodeAt(0));
      expect(ours.toString('latin1', 0, 8)).to.equal('.wh.gone');
      expect(ours[156]).to.equal('0'.charCodeAt(0));
    });

    it("archives what a layer directory that is a symlink points to (a migrated layer), where moby archives the symlink", async () => {
      const target = path.join(scratch.dir, 'elsewhere');
      expectOk((await runOracle([{ op: 'build', dir: target, entries: [at('file', { type: 'file', size: 3 })] }]))[0], 'build');
      await d.create('linked');
      fs.rmdirSync(diffDir('linked'));
      fs.symlinkSync(target, diffDir('linked'));
      const tar = `${diffDir('linked')}.tar`;
      expectOk((await runOracle([{ op: 'tar', dir: diffDir('linked'), tar }]))[0], 'tar');
      const moby = fs.readFileSync(tar);
      const ours = await collect(await d.diff('linked'));
      expect([moby.toString('latin1', 0, 6), String.fromCharCode(moby[156])]).to.deep.equal(['linked', '2']);
      expect([ours.toString('latin1', 0, 4), String.fromCharCode(ours[156])]).to.deep.equal(['file', '0']);
    });

    it('stays on the layer\'s filesystem, where moby archives what is mounted inside the layer too', async () => {
      const { id } = await tarsOf([at('mnt', { type: 'dir', mode: 0o755 })]);
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', path.join(diffDir(id), 'mnt')]);
      try {
        fs.writeFileSync(path.join(diffDir(id), 'mnt', 'inside'), 'x');
        const tar = `${diffDir(id)}.2.tar`;
        expectOk((await runOracle([{ op: 'tar', dir: diffDir(id), tar }]))[0], 'tar');
        expect(fs.readFileSync(tar).includes('mnt/inside')).to.equal(true);
        expect((await collect(await d.diff(id))).includes('mnt/inside')).to.equal(false);
      } finally {
        execFileSync('umount', [path.join(diffDir(id), 'mnt')]);
      }
    });
  });

  describe('applyDiff()', () => {
    it("keeps an mtime before 1970 or after 2262, which moby sets to the epoch, or for a symlink wraps", async () => {
      const { id, moby } = await tarsOf([
        at('new', { type: 'file', size: 1, mtime: 2 ** 34 }),
        at('new-link', { type: 'symlink', target: Buffer.from('new'), mtime: 2 ** 34 }),
        at('old', { type: 'file', size: 1, mtime: -86_400 }),
        at('old-link', { type: 'symlink', target: Buffer.from('old'), mtime: -86_400 }),
      ]);
      const extracted = path.join(scratch.dir, 'moby-old');
      await d.create(`${id}-x`);
      await d.applyDiff(`${id}-x`, undefined, Readable.from([moby]));
      const [untar, theirs, ours] = await runOracle([
        { op: 'untar', tar: `${diffDir(id)}.tar`, dir: extracted },
        { op: 'manifest', dir: extracted },
        { op: 'manifest', dir: diffDir(`${id}-x`) },
      ]);
      expectOk(untar, 'untar');
      // 2^34 s in int64 nanoseconds wraps to 1929.
      expect(theirs.entries?.map((e) => e.mtime)).to.deep.equal([0, -1_266_874_890, 0, -86_400]);
      expect(ours.entries?.map((e) => e.mtime)).to.deep.equal([2 ** 34, 2 ** 34, -86_400, -86_400]);
      expect(asMobyWouldTime(ours.entries ?? [])).to.deep.equal(theirs.entries);
    });
  });
});
