// What must hold of a store however its last process died: checked by the
// crash test after every kill, on a driver just made by init().
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import path from 'node:path';

import type { Driver } from '../../../src';
import { describeTree, mountsUnder } from '../../helpers/fixtures';

export const STORE_DIRS = ['layers', 'diff', 'mnt', 'work', 'incomplete'] as const;

/** Names in ROOT/dir, or [] when it does not exist. */
export function entriesOf(root: string, dir: string): string[] {
  try {
    return readdirSync(path.join(root, dir));
  } catch {
    return [];
  }
}

/**
 * The layout is whole: no scratch left, nothing in diff/, mnt/, work/ or
 * incomplete/ without its layers file, every mount under the root the
 * union of an existing layer (mounted once), every parent chain complete
 * and agreeing with the parents' own chains.
 */
export async function expectConsistentStore(driver: Driver, context: string): Promise<string[]> {
  const root = driver.root;
  const ids = await driver.layers();
  for (const dir of STORE_DIRS) {
    const names = entriesOf(root, dir);
    expect(names.filter((name) => name.endsWith('-removing')), `${context}: scratch in ${dir}/`).to.deep.equal([]);
    if (dir !== 'layers') {
      expect(names.filter((name) => !ids.includes(name)), `${context}: ${dir}/ entries without a layer`).to.deep.equal([]);
    }
  }
  const mounts = mountsUnder(root);
  expect(new Set(mounts).size, `${context}: a union mounted twice: ${mounts.join(' ')}`).to.equal(mounts.length);
  for (const mount of mounts) {
    expect(ids.map((id) => path.join(root, 'mnt', id)), `${context}: mount ${mount}`).to.include(mount);
  }
  for (const id of ids) {
    const [parent, ...rest] = await driver.parents(id);
    if (parent === undefined) continue;
    expect(await driver.exists(parent), `${context}: parent ${parent} of ${id}`).to.equal(true);
    expect(await driver.parents(parent), `${context}: chain of ${id}`).to.deep.equal(rest);
  }
  return ids;
}

/** No overlay-form whiteout (a 0/0 character device) is left in the unmounted layer `id`. */
export function expectAufsForm(root: string, id: string, context: string): Record<string, string> {
  const tree = describeTree(path.join(root, 'diff', id));
  for (const [rel, what] of Object.entries(tree)) {
    expect(what, `${context}: ${id}/${rel} left in overlay form`).to.not.equal('chr:0:0');
  }
  return tree;
}

/** Removes every layer, children first, and expects an empty store and no mount. */
export async function expectAllRemovable(driver: Driver, context: string): Promise<void> {
  const ids = await driver.layers();
  const depth = new Map(await Promise.all(ids.map(async (id) => [id, (await driver.parents(id)).length] as const)));
  for (const id of ids.sort((a, b) => depth.get(b)! - depth.get(a)!)) await driver.remove(id);
  for (const dir of STORE_DIRS) {
    expect(entriesOf(driver.root, dir), `${context}: ${dir}/ after removing every layer`).to.deep.equal([]);
  }
  expect(mountsUnder(driver.root), `${context}: mounts after removing every layer`).to.deep.equal([]);
}
