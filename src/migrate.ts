// migrate(): adopt the layers of a Docker < 0.7 root, which kept image files in
// PATH/graph/ID/layer (metadata in PATH/graph/ID/json) and container files in
// PATH/containers/ID/rw (image named in PATH/containers/ID/config.json).
//
// Each layer is created first and its files moved in afterwards (rename onto
// the empty diff/ID), so a crash never leaves moved files in a directory that
// init would take for a half-made layer. Everything is idempotent: running
// migrate again after a crash, or after success, finishes or does nothing.
import { lstat, readFile, readdir, rename, rmdir, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';

import { DriverError, isErrorCode } from './errors';
import { idProblem } from './ids';

/** What migrate needs of the driver. */
export interface MigrationTarget {
  exists(id: string): Promise<boolean>;
  create(id: string, parent?: string): Promise<void>;
  get(id: string): Promise<string>;
  put(id: string): Promise<void>;
  diffPath(id: string): string;
}

export type SetupInit = (initPath: string) => void | Promise<void>;

interface ImageMetadata {
  id: string;
  parent?: string;
  file: string;
}

export async function migrateLegacyRoot(target: MigrationTarget, legacyRoot: string, setupInit: SetupInit): Promise<void> {
  const graph = path.join(legacyRoot, 'graph');
  if (!(await pathExists(graph))) return;
  await renameIfExists(path.join(legacyRoot, 'repositories'), path.join(legacyRoot, 'repositories-aufs'));
  await migrateImages(target, graph);
  await migrateContainers(target, path.join(legacyRoot, 'containers'), setupInit);
}

async function migrateImages(target: MigrationTarget, graph: string): Promise<void> {
  const images = new Map<string, ImageMetadata>();
  for (const name of await readdir(graph)) {
    if (!(await pathExists(path.join(graph, name, 'layer')))) continue;
    const file = path.join(graph, name, 'json');
    const json = await readJson(file);
    const id = requireId(json.id, file, 'id');
    if (id !== name) throw badMetadata(file, `"id" is ${JSON.stringify(id)} but the image directory is ${JSON.stringify(name)}`);
    const parent = json.parent === undefined || json.parent === '' ? undefined : requireId(json.parent, file, 'parent');
    images.set(id, { id, parent, file });
  }
  const done = new Set<string>();
  const migrate = async (image: ImageMetadata, chain: Set<string>): Promise<void> => {
    if (done.has(image.id)) return;
    if (chain.has(image.id)) throw badMetadata(image.file, 'the parent chain loops back to this image');
    chain.add(image.id);
    const parent = image.parent === undefined ? undefined : images.get(image.parent);
    if (parent !== undefined) await migrate(parent, chain);
    if (!(await target.exists(image.id))) {
      if (image.parent !== undefined && !(await target.exists(image.parent))) {
        throw badMetadata(image.file, `parent ${JSON.stringify(image.parent)} is neither in the graph nor a layer`);
      }
      await target.create(image.id, image.parent);
    }
    await relocate(path.join(graph, image.id, 'layer'), target.diffPath(image.id));
    done.add(image.id);
  };
  for (const image of images.values()) await migrate(image, new Set());
}

async function migrateContainers(target: MigrationTarget, containers: string, setupInit: SetupInit): Promise<void> {
  let names: string[];
  try {
    names = await readdir(containers);
  } catch (err) {
    if (isErrorCode(err, 'ENOENT')) return;
    throw err;
  }
  for (const id of names) {
    const rw = path.join(containers, id, 'rw');
    if (idProblem(id) !== undefined || !(await pathExists(rw))) continue;
    if (!(await target.exists(id))) {
      const file = path.join(containers, id, 'config.json');
      const image = requireId((await readJson(file)).Image, file, 'Image');
      if (!(await target.exists(image))) throw badMetadata(file, `image ${JSON.stringify(image)} is not a layer`);
      const initId = `${id}-init`;
      if (!(await target.exists(initId))) await target.create(initId, image);
      const initPath = await target.get(initId);
      try {
        await setupInit(initPath);
      } finally {
        // Docker forgot this put and left every init layer mounted.
        await target.put(initId);
      }
      await target.create(id, initId);
    }
    await relocate(rw, target.diffPath(id));
  }
}

/**
 * Moves `from` onto the (empty) directory `to`; where rename cannot (another
 * filesystem, a mount point) `to` becomes a symlink to `from` instead, as
 * Docker did. A symlink from an earlier attempt is replaced.
 */
async function relocate(from: string, to: string): Promise<void> {
  const existing = await lstat(to).catch((err: unknown) => {
    if (isErrorCode(err, 'ENOENT')) return undefined;
    throw err;
  });
  if (existing?.isSymbolicLink()) await unlink(to);
  try {
    await rename(from, to);
  } catch (err) {
    if (isErrorCode(err, 'ENOENT') && !(await pathExists(from))) return; // moved by an earlier run
    if (!isErrorCode(err, 'EXDEV', 'EBUSY')) throw err;
    await rmdir(to).catch((rmErr: unknown) => {
      if (!isErrorCode(rmErr, 'ENOENT')) throw rmErr;
    });
    await symlink(from, to);
  }
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw badMetadata(file, `not valid JSON (${err.message})`);
    throw err;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badMetadata(file, 'not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function requireId(value: unknown, file: string, field: string): string {
  const problem = idProblem(value);
  if (problem !== undefined) throw badMetadata(file, `"${field}" ${problem}`);
  return value as string;
}

function badMetadata(file: string, problem: string): DriverError {
  return new DriverError('ERR_BAD_METADATA', `cannot migrate ${file}: ${problem}`, file);
}

async function pathExists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    (err: unknown) => {
      if (isErrorCode(err, 'ENOENT')) return false;
      throw err;
    },
  );
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (!isErrorCode(err, 'ENOENT')) throw err;
  }
}
