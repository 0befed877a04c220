// Hundreds of concurrent callers on one driver: 256 layers (a base, a child,
// 254 grandchildren created at once), each mounted by many get/put pairs at
// once while diff() and changes() read its neighbour, then removed. Nothing
// may fail, no union may be mounted twice or left mounted, no layer lost.
import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { ChangeKind, type Driver } from '../../src';
import { mountsUnder, programDriver, scratchDir, writeTree } from '../helpers/fixtures';
import { seededRandom, testSeed } from '../helpers/random';

const GRANDCHILDREN = 254;
const PAIRS = 8;
const HELD = 3;

describe('reliability: hundreds of concurrent callers', function () {
  let scratch: ReturnType<typeof scratchDir>;
  let root: string;
  let driver: Driver;

  before(async () => {
    scratch = scratchDir('aufs-load-');
    root = path.join(scratch.dir, 'root');
    driver = await programDriver(root);
  });
  after(() => scratch.dispose());

  const mnt = (id: string): string => path.join(root, 'mnt', id);
  const mountCount = (id: string): number => mountsUnder(root).filter((target) => target === mnt(id)).length;

  it(`creates, mounts, reads and removes ${GRANDCHILDREN + 2} layers concurrently`, async function () {
    this.timeout(0);
    const seed = testSeed();
    const random = seededRandom(seed);
    const context = `TEST_SEED=${seed}`;

    await driver.create('base');
    writeTree(path.join(root, 'diff', 'base'), { 'etc/os': 'base', 'etc/gone': 'x' });
    await driver.create('child', 'base');
    writeTree(path.join(root, 'diff', 'child'), { 'etc/.wh.gone': '', 'app/bin': 'child' });
    const ids = Array.from({ length: GRANDCHILDREN }, (_, i) => `gc-${i}`);
    await Promise.all(ids.map((id) => driver.create(id, 'child')));
    for (const id of ids) writeFileSync(path.join(root, 'diff', id, 'own'), id);
    expect((await driver.layers()).length, context).to.equal(GRANDCHILDREN + 2);
    const chains = await Promise.all(ids.map((id) => driver.parents(id)));
    for (const chain of chains) expect(chain, context).to.deep.equal(['child', 'base']);

    let peak = 0;

    /** Many get/put pairs at once, each reading and writing through the union. */
    async function pairs(id: string, delays: number[]): Promise<void> {
      await Promise.all(
        delays.map(async (ms, i) => {
          await delay(ms);
          const dir = await driver.get(id);
          expect(dir, context).to.equal(mnt(id));
          expect(readFileSync(path.join(dir, 'own'), 'utf8'), context).to.equal(id);
          expect(readFileSync(path.join(dir, 'etc', 'os'), 'utf8'), context).to.equal('base');
          expect(existsSync(path.join(dir, 'etc', 'gone')), context).to.equal(false);
          writeFileSync(path.join(dir, `written-${i}`), id);
          expect(mountCount(id), `${context}: ${id} mounted once`).to.equal(1);
          peak = Math.max(peak, mountsUnder(root).length);
          await delay(ms);
          await driver.put(id);
        }),
      );
    }

    /** What a neighbour reads of the layer while it is mounted and written. */
    async function read(id: string): Promise<void> {
      const changes = await driver.changes(id);
      expect(changes, `${context}: changes of ${id}`).to.deep.include({ path: '/own', kind: ChangeKind.Add });
      let bytes = 0;
      for await (const chunk of await driver.diff(id)) bytes += (chunk as Buffer).length;
      expect(bytes, context).to.be.greaterThan(0);
    }

    /** The count is exact: HELD gets need HELD puts before the union goes. */
    async function held(id: string): Promise<void> {
      await Promise.all(Array.from({ length: HELD }, () => driver.get(id)));
      await Promise.all(Array.from({ length: HELD - 1 }, () => driver.put(id)));
      expect(mountCount(id), `${context}: ${id} after ${HELD - 1} of ${HELD} puts`).to.equal(1);
      await driver.put(id);
      expect(mountCount(id), `${context}: ${id} after every put`).to.equal(0);
    }

    const reads = new Map<string, Promise<void>>();
    await Promise.all(
      ids.map(async (id, i) => {
        const neighbour = ids[(i + 1) % ids.length];
        const reading = read(neighbour);
        reads.set(neighbour, reading);
        await pairs(id, Array.from({ length: PAIRS }, () => Math.floor(random() * 20)));
        await held(id);
        // Nobody removes a layer while it is being exported.
        await reading;
        await (reads.get(id) ?? Promise.resolve());
        await driver.remove(id);
        expect(await driver.exists(id), context).to.equal(false);
      }),
    );

    console.log(`      ${peak} unions mounted at once at the peak`);
    expect(peak, 'unions mounted at once').to.be.greaterThan(GRANDCHILDREN / 4);
    expect((await driver.layers()).sort(), context).to.deep.equal(['base', 'child']);
    expect(mountsUnder(root), `${context}: mounts left`).to.deep.equal([]);
    // The counts are all back to zero: cleanup finds nothing to do.
    await driver.cleanup();
    const mnt0 = await driver.get('child');
    expect(mountsUnder(root), context).to.deep.equal([mnt0]);
    await driver.put('child');
    expect(mountsUnder(root), context).to.deep.equal([]);
  });
});
