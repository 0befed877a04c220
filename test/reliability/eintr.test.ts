// Reads under a signal storm (EINTR). Reads on local filesystems never fail
// with EINTR; on FUSE (and network) filesystems they do: a signal reaching
// the thread that waits on a FUSE request makes the kernel send the daemon
// FUSE_INTERRUPT, and a daemon that then answers -EINTR gets that errno into
// the caller's syscall unchanged, SA_RESTART or not. Taken for an answer, it
// cuts a chain short (a layer mounted on the wrong parents, and no error) or
// reads an opaque directory as transparent (its marker lost from the diff);
// taken for a failure, it fails a diff() that a retry would have finished.
//
// So test/fixtures/slowfs.c serves the root's layers/ and the top layer's
// diff/ID: reads of files, directories, links and xattrs wait about 2 ms, file
// reads answer 5 ids at most (a chain cut short still parses: the silent
// case), and an interrupted one is answered -EINTR; test/fixtures/
// signalstorm.c signals every thread of a reader process (test/fixtures/
// layerReader.ts) every 2 ms. Checked on Linux 6.18 with libfuse 3.14:
// - fuse_interrupted() of the high-level API sees FUSE_INTERRUPT without
//   `-o intr` (which only adds a signal to the daemon's own worker), as long
//   as the loop is multithreaded: another worker reads the interrupt.
// - kill(2) of the reader is not enough: 714 process-directed SIGUSR2 over
//   40 chain reads brought no interrupt at all (the kernel gives them to the
//   main thread; the reads wait on libuv's pool threads); tgkill(2) of every
//   thread brought 594 interrupts in 20 reads.
// - Node's threads but the main one block SIGUSR1 (one blocks nearly every
//   signal), none SIGUSR2, hence that signal; its default action ends the
//   process, hence the reader's handler, and the storm stops before it exits.
// - A run: ~16,000 signals handled, ~1,000 layers file reads and ~130 xattr
//   reads interrupted over 20 rounds, in about 4 s. Without the retries, every
//   round cut the chain (0 to 25 of 127 parents), the marker went missing, or
//   diff() failed with EINTR from fgetxattr or readlink.
// The driver is read-only: slowfs serves no writes, and a read-only driver
// does nothing else under the root (a writable init() would sweep layers/),
// so the reads under test are the only ones.
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { scratchDir, writeTree } from '../helpers/fixtures';
import { rounds } from '../helpers/sanitizers';
import { bundleProgram, startBundled } from './support/processes';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures');
// Docker's deepest image: 127 parents.
const DEPTH = 127;
// Five lines of a 64-character id and its newline.
const READ_BYTES = 5 * 65;
const STORM_MICROSECONDS = 2000;
// Four short reads for diff() to make whole.
const CONTENT = 'x'.repeat(4 * READ_BYTES);
// A round: parents() and changes() read the chain in ~27 reads each, with
// as many retries; diff() makes ~10 slow requests. About 200 ms.
const ROUNDS = rounds(20, 5);

/** The helpers' environment: the sanitizer runtimes (npm run test:asan) are for the addon's processes. */
function toolEnv(): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _, ...env } = process.env;
  return env;
}

function compile(source: string, output: string, libraries: string[] = []): void {
  execFileSync('cc', ['-O2', '-Wall', '-o', output, source, ...libraries], { env: toolEnv() });
}

type Round = { parents: string[]; changes: string[]; diff: string[] } | { error: string };

/** A round's answers in a line: whether parents() gave the chain, then changes() and diff(). */
function summary(round: Round, chain: readonly string[]): string {
  if ('error' in round) return round.error;
  const whole = round.parents.join('\n') === chain.join('\n');
  return `${round.parents.length} parents, ${whole ? 'the chain' : 'not the chain'}; ${round.changes.join(' ')}; ${round.diff.join(' ')}`;
}

/** Lines of a child's stdout, one at a time. */
function lineReader(child: ChildProcess): () => Promise<string> {
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return async () => {
    const next = await lines.next();
    if (next.done) throw new Error(`process ${child.pid} ended its output`);
    return next.value;
  };
}

/** A slowfs daemon serving `source` at `target`, counting the requests it answered -EINTR. */
class SlowFs {
  readonly #interrupted = new Map<string, number>();
  readonly #exited: Promise<unknown>;

  private constructor(readonly child: ChildProcess) {
    this.#exited = once(child, 'exit');
  }

  static async start(program: string, source: string, target: string): Promise<SlowFs> {
    const fs = new SlowFs(
      spawn(program, [source, target, String(READ_BYTES)], { env: toolEnv(), stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    const line = lineReader(fs.child);
    expect(await line()).to.equal('ready');
    void (async () => {
      for (;;) {
        const [word, operation] = (await line()).split(' ');
        if (word === 'eintr') fs.#interrupted.set(operation, fs.interrupted(operation) + 1);
      }
    })().catch(() => undefined); // its output ends with it
    return fs;
  }

  /** Requests for `operation` answered -EINTR so far. */
  interrupted(operation: string): number {
    return this.#interrupted.get(operation) ?? 0;
  }

  /** Once its mount point is unmounted: it ends. */
  async exited(): Promise<void> {
    await this.#exited;
  }
}

describe('reliability: layers read under a signal storm (EINTR)', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let bin: string;
  let root: string;
  const daemons: SlowFs[] = [];
  let layersFs: SlowFs;
  let diffFs: SlowFs;
  const chain = Array.from({ length: DEPTH }, () => randomBytes(32).toString('hex'));
  const top = randomBytes(32).toString('hex');

  before(async () => {
    scratch = scratchDir('aufs-eintr-');
    bin = path.join(scratch.dir, 'bin');
    mkdirSync(bin);
    const fuse = execFileSync('pkg-config', ['--cflags', '--libs', 'fuse3'], { encoding: 'utf8' }).trim().split(/\s+/);
    compile(path.join(FIXTURES, 'slowfs.c'), path.join(bin, 'slowfs'), fuse);
    compile(path.join(FIXTURES, 'signalstorm.c'), path.join(bin, 'signalstorm'));
    bundleProgram(path.join(FIXTURES, 'layerReader.ts'), bin);

    root = path.join(scratch.dir, 'root');
    for (const id of [top, ...chain]) mkdirSync(path.join(root, 'diff', id), { recursive: true });
    mkdirSync(path.join(root, 'mnt'));
    mkdirSync(path.join(root, 'layers'));
    const base = path.join(root, 'diff', chain[DEPTH - 1]);
    writeTree(base, { f: 'base', 'd/old': 'base' });
    // What slowfs serves: the layers files, and the top layer's files.
    const layers = path.join(scratch.dir, 'layers');
    writeTree(layers, { [top]: chain.map((id) => `${id}\n`).join('') });
    for (const id of chain) writeFileSync(path.join(layers, id), '');
    const topDiff = path.join(scratch.dir, 'top');
    // /f modifies the deepest parent's /f: a chain cut short shows it added.
    // /d is opaque the way fuse-overlayfs marks it, by an xattr: a read of it
    // taken for "no attribute" loses the marker from the diff.
    writeTree(topDiff, { f: CONTENT, 'd/new': 'new' });
    symlinkSync('f', path.join(topDiff, 'l'));
    execFileSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")', path.join(topDiff, 'd')]);

    const program = path.join(bin, 'slowfs');
    layersFs = await SlowFs.start(program, layers, path.join(root, 'layers'));
    daemons.push(layersFs);
    diffFs = await SlowFs.start(program, topDiff, path.join(root, 'diff', top));
    daemons.push(diffFs);
  });

  after(async () => {
    if (scratch === undefined) return;
    scratch.dispose(); // unmounts what slowfs serves, which ends it
    for (const daemon of daemons) await daemon.exited();
  });

  it('parents(), changes() and diff() read whole chains, xattrs and links every time', async () => {
    const reader = startBundled(path.join(bin, 'layerReader.js'), [root, top, String(ROUNDS)]);
    reader.stderr!.pipe(process.stderr);
    const exited = once(reader, 'exit');
    let storm: ChildProcess | undefined;
    try {
      const line = lineReader(reader);
      expect(await line()).to.equal('ready');
      const before = { reads: layersFs.interrupted('read'), xattrs: xattrReads(diffFs) };
      storm = spawn(
        path.join(bin, 'signalstorm'),
        [String(reader.pid), String(constants.signals.SIGUSR2), String(STORM_MICROSECONDS)],
        { env: toolEnv(), stdio: 'inherit' },
      );
      reader.stdin!.write('go\n');
      const { results, signals } = JSON.parse(await line()) as { results: Round[]; signals: number };
      const stormExited = once(storm, 'exit');
      storm.kill();
      await stormExited;

      expect(results.map((round) => summary(round, chain))).to.deep.equal(
        Array<string>(ROUNDS).fill(`${DEPTH} parents, the chain; C /d A /d/new C /f A /l; d/ d/.wh..wh..opq d/new:new f:${CONTENT} l->f`),
      );
      // The storm did interrupt the reads that went wrong silently: without, this test would prove nothing.
      expect(signals).to.be.greaterThan(0);
      expect(layersFs.interrupted('read') - before.reads).to.be.greaterThan(0);
      expect(xattrReads(diffFs) - before.xattrs).to.be.greaterThan(0);
      reader.stdin!.end();
      expect(await exited).to.deep.equal([0, null]);
    } finally {
      storm?.kill();
      reader.kill('SIGKILL');
    }
  });
});

/** Extended attribute reads of `fs` answered -EINTR. */
function xattrReads(fs: SlowFs): number {
  return fs.interrupted('getxattr') + fs.interrupted('listxattr');
}
