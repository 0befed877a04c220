// kill -9 at random moments of a daemon's work (create, applyDiff of a 50 MB
// layer, get/put with writes, remove), then init on the same root: the store
// must be whole, every layer complete or listed by incomplete(), and
// everything removable. The seed is printed with any failure; TEST_SEED=N
// replays a run, CRASH_KILLS=N changes how many kills it makes.
import { expect } from 'chai';
import { createReadStream, mkdtempSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';

import { init, type Driver } from '../../src';
import { PROGRAM_OPTIONS, mountsUnder, scratchDir } from '../helpers/fixtures';
import { seededRandom, testSeed } from '../helpers/random';
import { rounds } from '../helpers/sanitizers';
import { snapshot, type SnapshotEntry } from '../tarSupport';
import { CONTAINER_PREFIX, CONTAINER_WRITES, IMAGE_PREFIX } from './crashWorkload';
import { writeLayerTar } from './support/layerTar';
import { bundleProgram, startBundled, waitForProcessGroup } from './support/processes';
import { expectAllRemovable, expectAufsForm, expectConsistentStore } from './support/storeCheck';

const KILLS = Number(process.env.CRASH_KILLS ?? rounds(200, 25));
/** Every so many kills, everything is removed and the workload starts afresh. */
const REMOVE_ALL_EVERY = 50;

type Content = Record<string, Omit<SnapshotEntry, 'ino'>>;

/** A layer's files as a round trip must keep them; inode numbers differ between layers. */
function contentOf(dir: string): Content {
  const out: Content = {};
  for (const [rel, { ino: _ino, ...entry }] of Object.entries(snapshot(dir))) out[rel] = entry;
  return out;
}

/** A workload process, loaded and waiting for the word to start. */
class Worker {
  readonly process: ChildProcess;
  readonly #stderr: Buffer[] = [];
  readonly exited: Promise<unknown>;

  constructor(bundle: string, root: string, tar: string, seed: number) {
    this.process = startBundled(bundle, [root, tar, String(seed)]);
    this.process.stderr!.on('data', (chunk: Buffer) => this.#stderr.push(chunk));
    this.exited = once(this.process, 'exit');
  }

  /** Lets it loose on the root, and SIGKILLs it `ms` later; fails if it died by itself. */
  async runFor(ms: number): Promise<void> {
    this.process.stdin!.write('go\n');
    const died = this.exited.then(() => 'died' as const);
    if ((await Promise.race([delay(ms), died])) === 'died') {
      throw new Error(`the workload exited by itself (${this.process.exitCode}): ${Buffer.concat(this.#stderr).toString()}`);
    }
    this.process.kill('SIGKILL');
    await this.exited;
    await waitForProcessGroup(this.process.pid!);
  }
}

describe('reliability: kill -9 during create, applyDiff, get/put and remove', function () {
  let scratch: ReturnType<typeof scratchDir>;
  before(() => {
    scratch = scratchDir('aufs-crash-');
  });
  after(() => scratch.dispose());

  it(`leaves a whole store after ${KILLS} kills at random moments`, async function () {
    this.timeout(0);
    const seed = testSeed();
    const random = seededRandom(seed);
    const tar = path.join(scratch.dir, 'layer.tar');
    await writeLayerTar(tar, seed);
    const bundle = bundleProgram(path.join(__dirname, 'crashWorkload.ts'), mkdtempSync(path.join(scratch.dir, 'bundle-')));

    // What an applyDiff that was not interrupted makes of the tar.
    const reference = await init(path.join(scratch.dir, 'reference'), PROGRAM_OPTIONS);
    await reference.create('ref');
    await reference.applyDiff('ref', undefined, createReadStream(tar));
    const complete = contentOf(path.join(reference.root, 'diff', 'ref'));

    const root = path.join(scratch.dir, 'root');
    const verified = new Set<string>();
    const counts = { incomplete: 0, unapplied: 0, adopted: 0, images: 0, containers: 0 };

    /** Checks the store after a kill; removes what the workload would not keep. */
    async function checkStore(driver: Driver, context: string): Promise<void> {
      const ids = await expectConsistentStore(driver, context);
      counts.adopted += mountsUnder(root).length;
      const incomplete = await driver.incomplete();
      counts.incomplete += incomplete.length;
      for (const id of incomplete) {
        expect(id, context).to.match(new RegExp(`^${IMAGE_PREFIX}`));
        await driver.remove(id);
        expect(await driver.exists(id), context).to.equal(false);
      }
      for (const id of ids.filter((i) => i.startsWith(IMAGE_PREFIX) && !incomplete.includes(i) && !verified.has(i))) {
        const content = contentOf(path.join(root, 'diff', id));
        if (Object.keys(content).length === 0) {
          // Created, but killed before its applyDiff began.
          counts.unapplied++;
          await driver.remove(id);
          continue;
        }
        expect(content, `${context}: ${id} is neither complete nor marked incomplete`).to.deep.equal(complete);
        verified.add(id);
        counts.images++;
      }
      // Unions the killed process left mounted were adopted; cleanup unmounts
      // them and brings their layers back into aufs form.
      await driver.cleanup();
      expect(mountsUnder(root), `${context}: mounts after cleanup`).to.deep.equal([]);
      for (const id of ids.filter((i) => i.startsWith(CONTAINER_PREFIX))) {
        const tree = expectAufsForm(root, id, context);
        for (const [rel, what] of Object.entries(tree)) {
          // A kill between a file's creation and its write leaves it short.
          const written = CONTAINER_WRITES[rel] ?? '';
          expect(written.startsWith(what) && what !== '', `${context}: ${id}/${rel} is ${what}`).to.equal(true);
        }
        counts.containers++;
      }
    }

    let worker = new Worker(bundle, root, tar, Math.floor(random() * 2 ** 31));
    try {
      for (let kill = 1; kill <= KILLS; kill++) {
        const context = `kill ${kill}`;
        const current = worker;
        // The next workload loads while this one works and the store is checked.
        worker = new Worker(bundle, root, tar, Math.floor(random() * 2 ** 31));
        // Early kills hit init and the first steps; later ones whole loops.
        await current.runFor(random() < 0.2 ? random() * 100 : random() * 1500);
        const driver = await init(root, PROGRAM_OPTIONS);
        await checkStore(driver, context);
        if (kill % REMOVE_ALL_EVERY === 0 || kill === KILLS) {
          await expectAllRemovable(driver, context);
          verified.clear();
        }
        // The next workload finds the store as the killed one left it, mounts included.
        await driver.close({ keepMounts: true });
      }
    } catch (err) {
      if (err instanceof Error) err.message = `TEST_SEED=${seed}: ${err.message}`;
      throw err;
    } finally {
      worker.process.kill('SIGKILL');
      await worker.exited;
    }
    console.log(`      ${KILLS} kills: ${JSON.stringify(counts)}`);
    // The kills landed in the work that matters, not only between steps.
    expect(counts.incomplete, 'kills during applyDiff').to.be.greaterThan(0);
    expect(counts.images, 'complete image layers checked').to.be.greaterThan(0);
  });
});
