// The program the crash test kills: a daemon's work on one root, in a loop
// until SIGKILL. Image layers are created and filled by applyDiff from the
// 50 MB layer tar; containers are created on them, mounted, written and put;
// leaves are removed. It loads, then waits for a line on stdin before it
// touches the root, so that the test can start it ahead of time.
//   argv: ROOT TAR SEED
import { createReadStream, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

import { init, type Driver } from '../../src';
import { PROGRAM_OPTIONS } from '../helpers/fixtures';
import { seededRandom } from '../helpers/random';
import { DELETABLE_FILE } from './support/layerTar';

export const IMAGE_PREFIX = 'img-';
export const CONTAINER_PREFIX = 'ctr-';

/** What a container writes through its mount, in the aufs form put() leaves in diff/ID. */
export const CONTAINER_WRITES: Record<string, string> = {
  'written/': 'dir',
  // fuse-overlayfs marks the directories it makes opaque.
  'written/.wh..wh..opq': 'file:',
  'written/file': 'file:from the container',
  'small/': 'dir',
  'small/d00/': 'dir',
  'small/d00/.wh.f000': 'file:',
};

const MAX_IMAGES = 4;
const MAX_CONTAINERS = 2;

class Workload {
  readonly #driver: Driver;
  readonly #tar: string;
  readonly #random: () => number;
  readonly #tag: string;
  #next = 0;

  constructor(driver: Driver, tar: string, seed: number) {
    this.#driver = driver;
    this.#tar = tar;
    this.#random = seededRandom(seed);
    this.#tag = seed.toString(36);
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)];
  }

  async step(): Promise<void> {
    const ids = await this.#driver.layers();
    const images = ids.filter((id) => id.startsWith(IMAGE_PREFIX));
    const containers = ids.filter((id) => id.startsWith(CONTAINER_PREFIX));
    const roll = this.#random();
    if (images.length < 2 || (roll < 0.45 && images.length < MAX_IMAGES)) {
      await this.#addImage(images);
    } else if (roll < 0.7 && containers.length < MAX_CONTAINERS) {
      await this.#runContainer(images);
    } else {
      await this.#removeLeaf(ids);
    }
  }

  async #addImage(images: string[]): Promise<void> {
    const id = `${IMAGE_PREFIX}${this.#tag}-${this.#next++}`;
    const parent = images.length > 0 && this.#random() < 0.7 ? this.#pick(images) : undefined;
    await this.#driver.create(id, parent);
    // Both ways in: the addon reading the file itself, and chunks through JavaScript.
    const file = createReadStream(this.#tar);
    const source: Readable = this.#random() < 0.5 ? file : file.pipe(new PassThrough());
    await this.#driver.applyDiff(id, parent, source);
  }

  async #runContainer(images: string[]): Promise<void> {
    const id = `${CONTAINER_PREFIX}${this.#tag}-${this.#next++}`;
    await this.#driver.create(id, this.#pick(images));
    const mnt = await this.#driver.get(id);
    mkdirSync(path.join(mnt, 'written'));
    writeFileSync(path.join(mnt, 'written', 'file'), 'from the container');
    unlinkSync(path.join(mnt, DELETABLE_FILE));
    // The container runs a while: kills land while it is mounted too.
    await delay(this.#random() * 200);
    await this.#driver.put(id);
  }

  async #removeLeaf(ids: string[]): Promise<void> {
    const parents = await Promise.all(ids.map((id) => this.#driver.parents(id)));
    const named = new Set(parents.map((chain) => chain[0]));
    const leaves = ids.filter((id) => !named.has(id));
    if (leaves.length > 0) await this.#driver.remove(this.#pick(leaves));
  }
}

async function main(): Promise<void> {
  const [root, tar, seedText] = process.argv.slice(2);
  process.stdin.setEncoding('utf8');
  await once(process.stdin, 'data');
  const workload = new Workload(await init(root, PROGRAM_OPTIONS), tar, Number(seedText));
  for (;;) await workload.step();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
