// One root, one owner: a Driver holds ROOT/.lock from init() to close(); a
// second init(), in this process or another, rejects at once; the kernel
// frees the root when the holder dies; read-only drivers and the CLI's
// read-only commands work beside a live owner and change nothing.
import { expect } from 'chai';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';

import { init, type Driver } from '../../src';
import { PROGRAM_OPTIONS, mountsUnder, programDriver, rejection, scratchDir } from '../helpers/fixtures';
import { snapshot } from '../tarSupport';
import { bundleProgram, startBundled, waitForProcessGroup } from './support/processes';

const REPO = path.resolve(__dirname, '..', '..');
const HOLDER_SOURCE = path.join(REPO, 'test', 'fixtures', 'holdRoot.ts');
const CONTENDERS = 50;

/** A holdRoot process: its first line says whether it took the root. */
class Holder {
  readonly process: ChildProcess;
  readonly exited: Promise<unknown>;
  readonly #lines: AsyncIterator<string>;
  readonly #stderr: Buffer[] = [];

  constructor(bundle: string, root: string, owner: string, steps: string[] = []) {
    this.process = startBundled(bundle, [root, owner, ...steps]);
    this.process.stderr!.on('data', (chunk: Buffer) => this.#stderr.push(chunk));
    this.exited = once(this.process, 'exit');
    this.#lines = createInterface({ input: this.process.stdout! })[Symbol.asyncIterator]();
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Its next line on stdout. */
  async line(): Promise<string> {
    const next = await this.#lines.next();
    if (next.done) throw new Error(`holder ${this.pid} ended: ${Buffer.concat(this.#stderr).toString()}`);
    return next.value;
  }

  async ready(): Promise<void> {
    expect(await this.line(), `holder ${this.pid}`).to.equal('ready');
  }

  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  /** Ends it the way a daemon shuts down: close(), then exit. */
  async close(): Promise<void> {
    this.process.stdin!.write('close\n');
    expect(await this.line()).to.equal('closed');
    this.process.stdin!.end();
    await this.exited;
  }
}

const CLI = [process.execPath, '--import', 'tsx', path.join(REPO, 'src', 'cli.ts')];

function cli(root: string, ...args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const result = spawnSync(CLI[0], [...CLI.slice(1), '--root', root, '-o', PROGRAM_OPTIONS[0], ...args], {
    cwd: REPO,
    maxBuffer: 1 << 26,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

describe('one root, one owner', function () {
  let scratch: ReturnType<typeof scratchDir>;
  let root: string;
  let holderBundle: string;
  const holders: Holder[] = [];
  const drivers: Driver[] = [];

  before(() => {
    holderBundle = bundleProgram(HOLDER_SOURCE, mkdtempSync('/tmp/aufs-holder-bundle-'));
  });
  beforeEach(() => {
    scratch = scratchDir('aufs-lock-');
    root = path.join(scratch.dir, 'root');
  });
  afterEach(async () => {
    for (const holder of holders.splice(0)) {
      if (holder.process.exitCode === null && holder.process.signalCode === null) await holder.kill();
      await waitForProcessGroup(holder.pid);
    }
    for (const driver of drivers.splice(0)) await driver.close().catch(() => undefined);
    scratch.dispose();
  });

  const holder = (owner: string, steps: string[] = []): Holder => {
    const started = new Holder(holderBundle, root, owner, steps);
    holders.push(started);
    return started;
  };
  const driverOn = async (dir = root): Promise<Driver> => {
    const driver = await programDriver(dir);
    drivers.push(driver);
    return driver;
  };

  it('refuses a second init in the same process, at once, naming this process', async () => {
    const first = await driverOn();
    const started = performance.now();
    const err = await rejection(init(root, PROGRAM_OPTIONS, { owner: 'the second' }));
    expect(performance.now() - started).to.be.below(1000);
    expect(err.code).to.equal('ERR_ROOT_LOCKED');
    expect(err.path).to.equal(path.join(root, '.lock'));
    expect((err as unknown as { pid: number }).pid).to.equal(process.pid);
    expect(err.message).to.include(`another Driver of this process (pid ${process.pid})`);
    // The refused init changed nothing: the owner still works.
    await first.create('base');
    expect(await first.layers()).to.deep.equal(['base']);
  });

  it("refuses another process's init while a holder lives, names its pid and owner, and frees the root when it is killed", async () => {
    const owner = holder('the test daemon', ['create:base', 'apply:base:etc=1', 'create:child:base', 'get:child']);
    await owner.ready();
    const mnt = path.join(root, 'mnt', 'child');
    expect(mountsUnder(root)).to.deep.equal([mnt]);

    const err = await rejection(init(root, PROGRAM_OPTIONS));
    expect(err.code).to.equal('ERR_ROOT_LOCKED');
    expect((err as unknown as { pid: number }).pid).to.equal(owner.pid);
    expect((err as unknown as { owner: string }).owner).to.equal('the test daemon');
    expect(err.message).to.equal(`root ${root} is in use by process ${owner.pid} (the test daemon)`);
    const contender = holder('a contender');
    expect(await contender.line()).to.equal(`locked ${owner.pid} ERR_ROOT_LOCKED`);

    // The mount program the holder started outlives it, and must not hold the lock.
    await owner.kill();
    expect(mountsUnder(root)).to.deep.equal([mnt]);
    const next = await driverOn();
    // The union the dead owner left is adopted (one get), and put by the new owner.
    expect(readFileSync(path.join(mnt, 'etc'), 'utf8')).to.equal('1');
    await next.put('child');
    expect(mountsUnder(root)).to.deep.equal([]);
  });

  it('close() unmounts, lets the root go, is idempotent, and refuses later calls', async () => {
    const driver = await driverOn();
    await driver.create('base');
    await driver.create('child', 'base');
    await driver.get('child');
    const [first, second] = [driver.close(), driver.close()];
    await Promise.all([first, second]);
    await driver.close();
    expect(mountsUnder(root)).to.deep.equal([]);
    for (const [what, call] of Object.entries({
      layers: () => driver.layers(),
      get: () => driver.get('child'),
      create: () => driver.create('other'),
      diffSize: () => driver.diffSize('base'),
    })) {
      expect((await rejection(call())).code, what).to.equal('ERR_DRIVER_CLOSED');
    }
    const next = await driverOn();
    expect((await next.layers()).sort()).to.deep.equal(['base', 'child']);
  });

  it('close() waits for the calls already running', async () => {
    const driver = await driverOn();
    await driver.create('base');
    const tar = new Readable({ read() {} });
    const applying = driver.applyDiff('base', undefined, tar);
    const closing = driver.close();
    let closed = false;
    void closing.then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed, 'closed while an applyDiff ran').to.equal(false);
    tar.push(Buffer.alloc(1024));
    tar.push(null);
    expect(await applying).to.equal(0);
    await closing;
    expect(await (await driverOn()).incomplete()).to.deep.equal([]);
  });

  it('50 concurrent inits on a fresh root: exactly one wins, and the root is whole', async () => {
    const contenders = Array.from({ length: CONTENDERS }, (_, i) => holder(`contender ${i}`));
    const answers = await Promise.all(contenders.map((c) => c.line()));
    const winners = contenders.filter((_, i) => answers[i] === 'ready');
    expect(winners, answers.join('\n')).to.have.length(1);
    const [winner] = winners;
    for (const [i, answer] of answers.entries()) {
      if (contenders[i] !== winner) expect(answer, `contender ${i}`).to.equal(`locked ${winner.pid} ERR_ROOT_LOCKED`);
    }
    expect(readdirSync(root).sort()).to.deep.equal(['.lock', 'diff', 'incomplete', 'layers', 'mnt', 'work']);
    expect(readFileSync(path.join(root, '.lock'), 'utf8')).to.equal(`${winner.pid}\ncontender ${answers.indexOf('ready')}\n`);
    await winner.close();
    const next = await driverOn();
    expect(await next.layers()).to.deep.equal([]);
  });

  describe('beside a live owner', () => {
    let owner: Holder;
    beforeEach(async () => {
      owner = holder('aufs-graphdriver serve: change these layers through Docker', [
        'create:base',
        'apply:base:etc=base',
        'create:child:base',
        'apply:child:app=child',
        'get:child',
      ]);
      await owner.ready();
    });

    it('a read-only driver reads, refuses every change with ERR_READ_ONLY, and changes nothing', async () => {
      const before = snapshot(root);
      const ro = await init(root, PROGRAM_OPTIONS, { readOnly: true });
      drivers.push(ro);
      expect(ro.readOnly).to.equal(true);
      expect((await ro.layers()).sort()).to.deep.equal(['base', 'child']);
      expect(await ro.parents('child')).to.deep.equal(['base']);
      expect(await ro.exists('child')).to.equal(true);
      expect((await ro.status())[2]).to.deep.equal(['Dirs', '2']);
      expect(await ro.changes('child')).to.deep.equal([{ path: '/app', kind: 1 }]);
      expect(await ro.diffSize('child')).to.equal(5);
      expect(await ro.incomplete()).to.deep.equal([]);
      let bytes = 0;
      for await (const chunk of await ro.diff('child')) bytes += (chunk as Buffer).length;
      expect(bytes).to.be.greaterThan(512);
      for (const [what, call] of Object.entries({
        create: () => ro.create('new'),
        remove: () => ro.remove('base'),
        get: () => ro.get('base'),
        put: () => ro.put('child'),
        applyDiff: () => ro.applyDiff('child', undefined, Readable.from([])),
        cleanup: () => ro.cleanup(),
        migrate: () => ro.migrate(scratch.dir, async () => undefined),
      })) {
        const err = await rejection(call());
        expect(err.code, what).to.equal('ERR_READ_ONLY');
        expect(err.message, what).to.equal(`${what}() on a driver opened read-only: it would change the root`);
      }
      await ro.close();
      expect(mountsUnder(root)).to.deep.equal([path.join(root, 'mnt', 'child')]);
      expect(snapshot(root)).to.deep.equal(before);
    });

    it("the CLI's read-only commands work, and its changes fail naming the owner, touching nothing", () => {
      const before = snapshot(root);
      const ls = cli(root, 'ls', '--json');
      expect(ls.stderr).to.equal('');
      expect(JSON.parse(ls.stdout.toString())).to.deep.equal([
        { id: 'base', parent: null, size: 4, incomplete: false },
        { id: 'child', parent: 'base', size: 5, incomplete: false },
      ]);
      expect(cli(root, 'status').stdout.toString()).to.include('Dirs:');
      expect(cli(root, 'changes', 'child').stdout.toString()).to.equal('A /app\n');
      expect(cli(root, 'size', 'child').stdout.toString()).to.equal('5\n');
      expect(cli(root, 'diff', 'child').stdout.length).to.be.greaterThan(512);

      for (const args of [['umount', 'child'], ['rm', '--force', 'base'], ['create', 'x'], ['cleanup'], ['mount', 'child']]) {
        const result = cli(root, ...args);
        expect(result.status, args.join(' ')).to.equal(1);
        expect(result.stderr, args.join(' ')).to.equal(
          `aufs-graphdriver: root ${root} is in use by process ${owner.pid} (aufs-graphdriver serve: change these layers through Docker) (ERR_ROOT_LOCKED)\n`,
        );
      }
      expect(mountsUnder(root)).to.deep.equal([path.join(root, 'mnt', 'child')]);
      expect(readFileSync(path.join(root, 'mnt', 'child', 'etc'), 'utf8')).to.equal('base');
      expect(snapshot(root)).to.deep.equal(before);
    });
  });

  it('a read-only driver refuses a root that is not there', async () => {
    const err = await rejection(init(path.join(root, 'nowhere'), PROGRAM_OPTIONS, { readOnly: true }));
    expect(err.code).to.equal('ENOENT');
    expect(existsSync(path.join(root, 'nowhere'))).to.equal(false);
  });

  it('refuses bad init options', async () => {
    for (const [what, options] of Object.entries({
      'not an object': 'x',
      'readOnly not a boolean': { readOnly: 'yes' },
      'owner not a string': { owner: 1 },
    })) {
      expect((await rejection(init(root, PROGRAM_OPTIONS, options as never))).code, what).to.equal('ERR_INVALID_ARG_TYPE');
    }
    expect((await rejection(init(root, PROGRAM_OPTIONS, { owner: 'two\nlines' }))).code).to.equal('ERR_INVALID_OPTION');
    expect(existsSync(path.join(root, '.lock')), 'no lock file for refused options').to.equal(false);
  });
});
