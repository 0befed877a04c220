import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { init } from '../src';
import { mountsUnder, PROGRAM_OPTIONS, scratchDir } from './helpers/fixtures';
import { seededRandom, testSeed } from './helpers/random';

const KILLS = 12;

/** Runs the churn child until it has worked for `ms` milliseconds, then SIGKILLs it. */
async function churnAndKill(root: string, seed: number, ms: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'helpers', 'churn.ts'), root, String(seed)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`churn child exited early with ${code}`)));
  });
  await delay(ms);
  child.kill('SIGKILL');
  await exited;
}

describe('crash consistency of create/get/put/remove', function () {
  let scratch: ReturnType<typeof scratchDir>;
  beforeEach(() => {
    scratch = scratchDir('aufs-crash-');
  });
  afterEach(() => scratch.dispose());

  it(`leaves a consistent store after ${KILLS} kill -9s at random moments`, async () => {
    const seed = testSeed();
    const random = seededRandom(seed);
    const root = path.join(scratch.dir, 'root');
    const context = `TEST_SEED=${seed}`;

    for (let kill = 0; kill < KILLS; kill++) {
      await churnAndKill(root, Math.floor(random() * 1e9), 20 + Math.floor(random() * 300));
      const driver = await init(root, PROGRAM_OPTIONS);

      for (const dir of ['layers', 'diff', 'mnt', 'work']) {
        const scratchLeft = readdirSync(path.join(root, dir)).filter((name) => name.endsWith('-removing'));
        expect(scratchLeft, `${context}: scratch in ${dir}/ after init`).to.deep.equal([]);
      }
      const ids = readdirSync(path.join(root, 'layers'));
      for (const dir of ['diff', 'mnt', 'work']) {
        const orphans = readdirSync(path.join(root, dir)).filter((name) => !ids.includes(name));
        expect(orphans, `${context}: half-made layers in ${dir}/ after init`).to.deep.equal([]);
      }
      for (const id of ids) {
        expect(await driver.exists(id), context).to.equal(true);
        expect(statSync(path.join(root, 'diff', id)).isDirectory(), `${context}: diff/${id}`).to.equal(true);
        expect(statSync(path.join(root, 'mnt', id)).isDirectory(), `${context}: mnt/${id}`).to.equal(true);
        // Every layer's chain is whole: each ancestor exists.
        const mnt = await driver.get(id);
        expect(existsSync(mnt), context).to.equal(true);
        await driver.put(id);
      }
      // What the killed process had mounted was adopted; cleanup lets it go.
      await driver.cleanup();
      expect(mountsUnder(root), `${context}: mounts after cleanup`).to.deep.equal([]);
    }

    // Everything can be removed, children first.
    const driver = await init(root, PROGRAM_OPTIONS);
    const ids = readdirSync(path.join(root, 'layers'));
    const depth = (id: string): number => readFileSync(path.join(root, 'layers', id), 'utf8').split('\n').filter(Boolean).length;
    for (const id of ids.sort((a, b) => depth(b) - depth(a))) await driver.remove(id);
    for (const dir of ['layers', 'diff', 'mnt', 'work']) {
      expect(readdirSync(path.join(root, dir)), `${context}: ${dir}/ after removing all`).to.deep.equal([]);
    }
    expect(mountsUnder(root), context).to.deep.equal([]);
  });
});
