// The aufs graph driver: Docker's daemon/graphdriver/aufs, layer by layer.
import path from 'node:path';
import type { Readable } from 'node:stream';

import { signalOf, withCancelToken, type AbortOptions } from './abort';
import { applyTar, checkTarSource, type TarSource } from './archive/apply';
import { diffStream } from './archive/diff';
import { layerChanges, type Change } from './changes';
import { DriverAggregateError, DriverError, invalidArgType, isErrorCode, layerNotFound } from './errors';
import { checkId, checkOptionalId } from './ids';
import { Layout, makeDir } from './layout';
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
      const parents = parentId === undefined ? [] : [parentId, ...(await this.#layout.readChain(parentId))];
      if (await this.#layout.exists(id)) {
        throw new DriverError('ERR_LAYER_EXISTS', `layer ${JSON.stringify(id)} already exists`, this.#layout.layerFile(id));
      }
      // Directories and markers without a layers file are what a crashed
      // create or remove left.
      await this.#layout.removeDir(this.#layout.diffPath(id));
      await this.#layout.clearIncomplete(id);
      try {
        await this.#makeLayerDirs(id);
        await this.#layout.writeParents(id, parents);
      } catch (err) {
        // A full or read-only disk: what was made of the layer goes again.
        await this.#deleteLayer(id).catch(() => undefined);
        throw err;
      }
    });
  }

  async remove(id: string): Promise<void> {
    checkId(id);
    await this.#locks.run(id, async () => {
      await this.#unmountLayer(id, { restoreAufsForm: false });
      this.#refs.delete(id);
      await this.#deleteLayer(id);
    });
  }

  /**
   * Ids of the layers whose last applyDiff did not finish: it failed, was
   * aborted, or the process died during it. Their files are partial; they are
   * for remove(). The mark is made durable before extraction starts and
   * dropped only once the extracted files are on disk (syncfs).
   */
  async incomplete(): Promise<string[]> {
    return this.#layout.incompleteIds();
  }

  async get(id: string, mountLabel?: string): Promise<string> {
    checkId(id);
    if (mountLabel !== undefined && typeof mountLabel !== 'string') {
      throw invalidArgType('mountLabel', 'a string', mountLabel);
    }
    return this.#locks.run(id, async () => {
      const count = this.#refs.get(id) ?? 0;
      // The first get() mounts: its checks ride on the trip that reads the parents.
      const { parents, mountType } =
        count === 0
          ? await this.#layout.readChainForMount(id, this.#mountSetup(id))
          : { parents: await this.#layout.readParents(id), mountType: 0 };
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
  async diffSize(id: string, _parent?: string, options?: AbortOptions): Promise<number> {
    const signal = signalOf(options);
    return this.#inDiffDir(id, (dir) => withCancelToken(signal, (token) => native.treeSize(dir, token)));
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
  async changes(id: string, _parent?: string, options?: AbortOptions): Promise<Change[]> {
    return layerChanges(this.#layout, checkId(id), signalOf(options));
  }

  /**
   * The layer's own files (not its parents') as an uncompressed tar, byte
   * for byte the tar Docker's aufs driver writes (moby's TarWithOptions):
   * whiteouts included, aufs bookkeeping left out, and whiteouts of a mount
   * program still mounted written in aufs form. Aborting `options.signal`
   * destroys the stream with an AbortError. The stream fails with
   * ERR_FILE_CHANGED when a file shrinks while it is read. `parent` is
   * accepted for API compatibility only.
   */
  async diff(id: string, _parent?: string, options?: AbortOptions): Promise<Readable> {
    const signal = signalOf(options);
    return this.#inDiffDir(id, (dir) => diffStream(dir, signal));
  }

  /**
   * Extracts the layer tar `diff` (plain or gzip) into the layer's own
   * directory, verbatim: aufs whiteouts stay files. Resolves to what
   * diffSize() would. An entry that would reach outside the layer fails it
   * with ERR_TAR_BREAKOUT. A failed or aborted apply, or one the process
   * died in, leaves the layer listed by incomplete(), for remove(); the
   * layer is listed from before the first byte is extracted until every
   * extracted byte is on disk. `parent` is accepted for API compatibility
   * only.
   */
  async applyDiff(id: string, _parent: string | undefined, diff: TarSource, options?: AbortOptions): Promise<number> {
    checkId(id);
    checkTarSource(diff);
    const signal = signalOf(options);
    return this.#locks.run(id, async () => {
      if (!(await this.#layout.exists(id))) throw layerNotFound(id, this.#layout.layerFile(id));
      await this.#layout.markIncomplete(id);
      const size = await this.#inDiffDir(id, async (dir) => {
        const extracted = await applyTar(dir, diff, { signal });
        await native.syncfs(dir);
        return extracted;
      });
      await this.#layout.clearIncomplete(id);
      return size;
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

  async #deleteLayer(id: string): Promise<void> {
    // layers/ID goes first: from then on the layer does not exist, and every
    // later step is one that the next remove() or init() can finish.
    await this.#layout.removeLayerFile(id);
    await this.#layout.removeDir(this.#layout.diffPath(id));
    await this.#layout.removeDir(this.#layout.mountPath(id));
    await this.#layout.removeDir(this.#layout.workPath(id));
    await this.#layout.clearIncomplete(id);
  }

  /**
   * The directories a mounted layer has, with their modes; work/ID exists
   * from the mount until the layer is back in aufs form.
   */
  #layerDirs(id: string): MountSetup['dirs'] {
    const dirs = [
      { path: this.#layout.mountPath(id), mode: LAYER_DIR_MODE },
      { path: this.#layout.diffPath(id), mode: LAYER_DIR_MODE },
    ];
    if (this.#mounter.needsWorkDir) dirs.push({ path: this.#layout.workPath(id), mode: WORK_DIR_MODE });
    return dirs;
  }

  /** What create() makes: mnt/ID and diff/ID. work/ID comes with the first mount. */
  async #makeLayerDirs(id: string): Promise<void> {
    await makeDir(this.#layout.mountPath(id), LAYER_DIR_MODE);
    await makeDir(this.#layout.diffPath(id), LAYER_DIR_MODE);
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

  /**
   * Unmounts the layer if it is mounted. With `restoreAufsForm`, then tidies
   * it as the mounter needs, also when that was left to do by a put() that
   * failed half way or a process that died between the two.
   */
  async #unmountLayer(id: string, { restoreAufsForm }: { restoreAufsForm: boolean }): Promise<void> {
    await unmountIfMounted(this.#layout.mountPath(id), this.#mounter.magic);
    if (restoreAufsForm) await this.#mounter.afterUnmount(this.#layout.unmountedLayer(id));
  }
}
