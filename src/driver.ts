// The aufs graph driver: Docker's daemon/graphdriver/aufs, layer by layer.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

import { withCancelToken, type AbortOptions } from './abort';
import { applyTar, type TarSource } from './archive/apply';
import { diffStream } from './archive/diff';
import { layerChanges, type Change } from './changes';
import { DriverAggregateError, DriverError, isErrorCode, layerNotFound } from './errors';
import { checkId, checkOptionalId } from './ids';
import { Layout } from './layout';
import { KeyedMutex } from './locks';
import { migrateLegacyRoot, type SetupInit } from './migrate';
import type { UnionMounter } from './mounter';
import { native, type MountSetup } from './native';
import { backingFsName } from './fsMagic';
import { unmountIfMounted } from './unmount';

const LAYER_DIR_MODE = 0o755;
const WORK_DIR_MODE = 0o700;

export class Driver {
  readonly #layout: Layout;
  readonly #mounter: UnionMounter;
  readonly #locks = new KeyedMutex();
  /** Outstanding get()s per layer; a mounted layer has at least one. */
  readonly #refs = new Map<string, number>();

  /** Use init(): it prepares the root and picks the mounter. */
  constructor(layout: Layout, mounter: UnionMounter, adoptedMounts: readonly string[] = []) {
    this.#layout = layout;
    this.#mounter = mounter;
    for (const id of adoptedMounts) this.#refs.set(id, 1);
  }

  toString(): string {
    return 'aufs';
  }

  /** The root directory this driver keeps its layers in. */
  get root(): string {
    return this.#layout.root;
  }

  async status(): Promise<Array<[string, string]>> {
    const [fsType, ids] = await Promise.all([native.statfsType(this.root), this.#layout.layerIds()]);
    return [
      ['Root Dir', this.root],
      ['Backing Filesystem', backingFsName(fsType)],
      ['Dirs', String(ids.length)],
      ['Dirperm1 Supported', String(this.#mounter.dirperm1)],
    ];
  }

  async exists(id: string): Promise<boolean> {
    return this.#layout.exists(checkId(id));
  }

  /** Ids of every layer under the root, in no particular order. */
  async layers(): Promise<string[]> {
    return this.#layout.layerIds();
  }

  /**
   * Ancestors of `id` as its `layers/ID` file lists them, nearest first: []
   * for a base layer. ERR_LAYER_NOT_FOUND for an unknown id, ERR_CORRUPT_LAYER
   * for a file naming an invalid id.
   */
  async parents(id: string): Promise<string[]> {
    return this.#layout.readParents(checkId(id));
  }

  async create(id: string, parent?: string): Promise<void> {
    checkId(id);
    const parentId = checkOptionalId(parent, 'parent id');
    await this.#locks.run(parentId === undefined ? [id] : [id, parentId], async () => {
      // Everything that can fail on bad input is checked before the first write.
      const parents = parentId === undefined ? [] : [parentId, ...(await this.#layout.readParents(parentId))];
      if (await this.#layout.exists(id)) {
        throw new DriverError('ERR_LAYER_EXISTS', `layer ${JSON.stringify(id)} already exists`, this.#layout.layerFile(id));
      }
      // Directories without a layers file are what a crashed create or remove left.
      await this.#layout.removeDir(this.#layout.diffPath(id));
      await this.#makeLayerDirs(id);
      await this.#layout.writeParents(id, parents);
    });
  }

  async remove(id: string): Promise<void> {
    checkId(id);
    await this.#locks.run(id, async () => {
      await this.#unmountLayer(id, { restoreAufsForm: false });
      this.#refs.delete(id);
      // layers/ID goes first: from then on the layer does not exist, and every
      // later step is one that the next remove() or init() can finish.
      await this.#layout.removeLayerFile(id);
      await this.#layout.removeDir(this.#layout.diffPath(id));
      await this.#layout.removeDir(this.#layout.mountPath(id));
      await this.#layout.removeDir(this.#layout.workPath(id));
    });
  }

  async get(id: string, mountLabel?: string): Promise<string> {
    checkId(id);
    return this.#locks.run(id, async () => {
      const count = this.#refs.get(id) ?? 0;
      // The first get() mounts: its checks ride on the trip that reads the parents.
      const setup = count === 0 ? this.#mountSetup(id) : undefined;
      const { parents, mountType } = await this.#layout.readParentsForMount(id, setup);
      // A layer without parents is never mounted: its files are the whole view.
      if (parents.length === 0) {
        this.#refs.set(id, count + 1);
        return this.#layout.diffPath(id);
      }
      const target = this.#layout.mountPath(id);
      if (count === 0) await this.#mount(id, parents, mountType, mountLabel);
      this.#refs.set(id, count + 1);
      return target;
    });
  }

  async put(id: string): Promise<void> {
    checkId(id);
    await this.#locks.run(id, async () => {
      const count = this.#refs.get(id) ?? 0;
      if (count > 1) {
        this.#refs.set(id, count - 1);
        return;
      }
      // On failure (EBUSY) the count stays, so a later put() tries again.
      await this.#unmountLayer(id, { restoreAufsForm: true });
      this.#refs.delete(id);
    });
  }

  async cleanup(): Promise<void> {
    const errors: Error[] = [];
    await Promise.all(
      (await this.#layout.mountIds()).map((id) =>
        this.#locks.run(id, async () => {
          try {
            await this.#unmountLayer(id, { restoreAufsForm: true });
            this.#refs.delete(id);
          } catch (err) {
            errors.push(err instanceof Error ? err : new Error(String(err)));
          }
        }),
      ),
    );
    if (errors.length > 0) {
      throw new DriverAggregateError('ERR_CLEANUP', errors, `cleanup left ${errors.length} mount(s) in place`);
    }
  }

  /**
   * Bytes in the layer's own files (not its parents'), as Docker's aufs
   * driver counted them. `parent` is accepted for API compatibility only.
   */
  async diffSize(id: string, _parent?: string, options: AbortOptions = {}): Promise<number> {
    return this.#inDiffDir(id, (dir) => withCancelToken(options.signal, (token) => native.treeSize(dir, token)));
  }

  /**
   * Adopts the images and containers of a Docker < 0.7 root at `legacyRoot`
   * (PATH/graph, PATH/containers); does nothing when it has no graph/.
   * `setupInit` fills each container's new -init layer, mounted.
   */
  async migrate(legacyRoot: string, setupInit: SetupInit): Promise<void> {
    if (typeof legacyRoot !== 'string' || typeof setupInit !== 'function') {
      throw Object.assign(new TypeError('migrate(path, setupInit) takes a path string and a function'), {
        code: 'ERR_INVALID_ARG_TYPE',
      });
    }
    await migrateLegacyRoot(
      {
        exists: (id) => this.exists(id),
        create: (id, parent) => this.create(id, parent),
        get: (id) => this.get(id),
        put: (id) => this.put(id),
        diffPath: (id) => this.#layout.diffPath(id),
      },
      path.resolve(legacyRoot),
      setupInit,
    );
  }

  /**
   * What the layer adds, modifies and deletes against its parents, as
   * Docker's aufs driver listed it (moby's archive.Changes), overlay-form
   * whiteouts of a mounted layer included. Like that driver, the layer's own
   * parent chain decides: `parent` is accepted for API compatibility only.
   */
  async changes(id: string, _parent?: string, options: AbortOptions = {}): Promise<Change[]> {
    return layerChanges(this.#layout, checkId(id), options);
  }

  /**
   * The layer's own files (not its parents') as an uncompressed tar, in
   * Docker's aufs form: whiteouts included, aufs bookkeeping left out, and
   * whiteouts of a mount program still mounted written in aufs form. Aborting
   * `options.signal` destroys the stream with an AbortError. The stream fails
   * with ERR_FILE_CHANGED when a file shrinks while it is read, and with
   * ERR_ARCHIVE_LIMIT for a device number its headers cannot hold. `parent`
   * is accepted for API compatibility only.
   */
  async diff(id: string, _parent?: string, options: AbortOptions = {}): Promise<Readable> {
    return this.#inDiffDir(id, (dir) => diffStream(dir, options.signal));
  }

  /**
   * Extracts the layer tar `diff` (plain or gzip) into the layer's own
   * directory, verbatim: aufs whiteouts stay files. Resolves to what
   * diffSize() would. An entry that would reach outside the layer fails it
   * with ERR_TAR_BREAKOUT; a failed or aborted apply leaves the layer for
   * remove(). `parent` is accepted for API compatibility only.
   */
  async applyDiff(id: string, _parent: string | undefined, diff: TarSource, options: AbortOptions = {}): Promise<number> {
    checkId(id);
    return this.#locks.run(id, async () => {
      if (!(await this.#layout.exists(id))) throw layerNotFound(id, this.#layout.layerFile(id));
      return this.#inDiffDir(id, (dir) => applyTar(dir, diff, { signal: options.signal }));
    });
  }

  /** Runs `work` on diff/ID, where a missing directory means ERR_LAYER_NOT_FOUND. */
  async #inDiffDir<T>(id: string, work: (dir: string) => Promise<T>): Promise<T> {
    const dir = this.#layout.diffPath(id);
    try {
      return await work(dir);
    } catch (err) {
      if (isErrorCode(err, 'ENOENT') && err.path === dir) throw layerNotFound(id, dir);
      throw err;
    }
  }

  /** The directories a layer has, with their modes. */
  #layerDirs(id: string): MountSetup['dirs'] {
    const dirs = [
      { path: this.#layout.mountPath(id), mode: LAYER_DIR_MODE },
      { path: this.#layout.diffPath(id), mode: LAYER_DIR_MODE },
    ];
    if (this.#mounter.needsWorkDir) dirs.push({ path: this.#layout.workPath(id), mode: WORK_DIR_MODE });
    return dirs;
  }

  async #makeLayerDirs(id: string): Promise<void> {
    for (const { path: dir, mode } of this.#layerDirs(id)) await mkdir(dir, { mode, recursive: true });
  }

  /**
   * What mounting `id` needs before the mount: its parents checked, and its
   * directories made, since layers from a Docker root, or made without a
   * mount program, lack some.
   */
  #mountSetup(id: string): MountSetup {
    return { dirs: this.#layerDirs(id), mountPoint: this.#layout.mountPath(id) };
  }

  /** `mountType`: what is mounted on the layer's mount point now. */
  async #mount(id: string, parents: readonly string[], mountType: number, label: string | undefined): Promise<void> {
    const lowers = parents.map((parent) => this.#layout.diffPath(parent));
    // A mount nobody counts was finished by a mount program after its caller
    // died; it may be dead too (ENOTCONN), so start from a clean mount point.
    if (mountType === this.#mounter.magic) await this.#unmountLayer(id, { restoreAufsForm: true });
    await this.#mounter.mount({
      target: this.#layout.mountPath(id),
      upper: this.#layout.diffPath(id),
      lowers,
      work: this.#layout.workPath(id),
      label,
    });
  }

  async #unmountLayer(id: string, { restoreAufsForm }: { restoreAufsForm: boolean }): Promise<void> {
    if (!(await unmountIfMounted(this.#layout.mountPath(id), this.#mounter.magic))) return;
    if (restoreAufsForm) await this.#mounter.afterUnmount(this.#layout.diffPath(id));
  }
}
