// Child process for the crash tests: creates, mounts, fills and removes layers
// in a loop until it is killed. Prints "ready" once the loop has started.
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { init } from '../../src';
import { PROGRAM_OPTIONS } from './fixtures';
import { seededRandom } from './random';

async function main(): Promise<void> {
  const [root, seedText] = process.argv.slice(2);
  const random = seededRandom(Number(seedText));
  const driver = await init(root, PROGRAM_OPTIONS);
  const live: string[] = [];
  let n = 0;
  process.stdout.write('ready\n');
  for (;;) {
    const roll = random();
    if (roll < 0.5 || live.length < 3) {
      const id = `layer-${seedText}-${n++}`;
      const parent = live.length > 0 && random() < 0.8 ? live[Math.floor(random() * live.length)] : undefined;
      await driver.create(id, parent);
      writeFileSync(path.join(root, 'diff', id, 'file'), id);
      live.push(id);
    } else if (roll < 0.7) {
      const id = live[Math.floor(random() * live.length)];
      await driver.get(id);
      await driver.put(id);
    } else {
      // Remove a leaf: a layer no other live layer names as its parent.
      const id = live.pop() as string;
      await driver.remove(id);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
