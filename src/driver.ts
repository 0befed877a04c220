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
import type { RootLock } from './rootLock';
import { unmountIfMounted } from './unmount';

const LAYER_DIR_MODE = 0o755;
const WORK_DIR_MODE = 0o700;

/** What init() found and took for a Driver. */
export interface DriverOwnership {
  /** The root's lock; undefined for a read-only driver. */
  lock: RootLock | undefined;
  /** Unions an earlier process left mounted, counted as one get() each. */
  adoptedMounts: readonly string[];
}

export interface CloseOptions {
  /** Leave the unions mounted, for the next owner of the root to adopt (each counted as one get). */
  keepMounts?: boolean;
}

/** Whether a call only reads the root, or changes it (and so needs to own it). */
type Access = 'read' | 'write';

export class Driver {
  readonly #layout: Layout;
  readonly #mounter: UnionMounter;
  readonly #locks = new KeyedMutex();
  /** Outstanding get()s per layer; a mounted layer has at least one. */
  readonly #refs = new Map<string, number>();
  readonly #lock: RootLock | undefined;
  /** The calls running now: close() waits for them. */
  readonly #running = new Set<Promise<unknown>>();
  /** Set by the first close(). */
  #closing: Promise<void> | undefined;

  /** Use init(): it takes and prepares the root and picks the mounter. */
  constructor(layout: Layout, mounter: UnionMounter, { lock, adoptedMounts }: DriverOwnership) {
    this.#layout = layout;
    this.#mounter = mounter;
    this.#lock = lock;
    for (const id of adoptedMounts) this.#refs.set(id, 1);
  }

  toString(): string {
    return 'aufs';
  }

  /** The root directory this driver keeps its layers in. */
  get root(): string {
    return this.#layout.root;
  }

  /** Whether this driver was opened with `readOnly`: it reads the root beside its owner. */
  get readOnly(): boolean {
    return this.#lock === undefined;
  }

  /**
   * Unmounts every union (as cleanup() does) and lets the root go, for
   * another owner to take; waits for the calls already running first. Every
   * later call rejects with ERR_DRIVER_CLOSED, and later close() calls settle
   * as the first did. A read-only driver unmounts nothing. When an unmount
   * fails the root is let go all the same (the next owner adopts what is
   * still mounted) and close() rejects with ERR_CLEANUP. With `keepMounts`
   * the unions stay mounted for the next owner to adopt, as a daemon that
   * restarts under running containers (Docker's live-restore) needs.
   */
  close({ keepMounts = false }: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(keepMounts);
    return this.#closing;
  }

  async #close(keepMounts: boolean): Promise<void> {
    await Promise.allSettled(this.#running);
    try {
      if (!this.readOnly && !keepMounts) await this.#cleanup();
    } finally {
      await this.#lock?.release();
    }
  }

  /**
   * Runs a public call: refused once close() has begun, and by a read-only
   * driver when it would change the root; counted until it settles.
   */
  #call<T>(access: Access, name: string, work: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) {
      return Promise.reject(new DriverError('ERR_DRIVER_CLOSED', `${name}() on a closed driver`, this.root));
    }
    if (access === 'write' && this.readOnly) {
      return Promise.reject(
        new DriverError('ERR_READ_ONLY', `${name}() on a driver opened read-only: it would change the root`, this.root),
      );
    }
    const running = work();
    this.#running.add(running);
    const settled = (): void => {
      this.#running.delete(running);
    };
    running.then(settled, settled);
    return running;
  }

  status(): Promise<Array<[string, string]>> {
    return this.#call('read', 'status', async () => {
      const [fsType, ids] = await Promise.all([native.statfsType(this.root), this.#layout.layerIds()]);
      return [
        ['Root Dir', this.root],
        ['Backing Filesystem', backingFsName(fsType)],
        ['Dirs', String(ids.length)],
        ['Dirperm1 Supported', String(this.#mounter.dirperm1)],
      ];
    });
  }

  exists(id: string): Promise<boolean> {
    return this.#call('read', 'exists', async () => this.#layout.exists(checkId(id)));
  }

  /** Ids of every layer under the root, in no particular order. */
  layers(): Promise<string[]> {
    return this.#call('read', 'layers', () => this.#layout.layerIds());
  }

  /**
   * Ancestors of `id` as its `layers/ID` file lists them, nearest first: []
   * for a base layer. ERR_LAYER_NOT_FOUND for an unknown id, ERR_CORRUPT_LAYER
   * for a file naming an invalid id.
   */
  parents(id: string): Promise<string[]> {
    return this.#call('read', 'parents', async () => this.#layout.readParents(checkId(id)));
  }

  create(id: string, parent?: string): Promise<void> {
    return this.#call('write', 'create', () => this.#create(id, parent));
  }

  async #create(id: string, parent: string | undefined): Promise<void> {
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

  remove(id: string): Promise<void> {
    return this.#call('write', 'remove', async () => {
      checkId(id);
      await this.#locks.run(id, async () => {
        await this.#unmountLayer(id, { restoreAufsForm: false });
        this.#refs.delete(id);
        await this.#deleteLayer(id);
      });
    });
  }

  /**
   * Ids of the layers whose last applyDiff did not finish: it failed, was
   * aborted, or the process died during it. Their files are partial; they are
   * for remove(). The mark is made durable before extraction starts and
   * dropped only once the extracted files are on disk (syncfs).
   */
  incomplete(): Promise<string[]> {
    return this.#call('read', 'incomplete', () => this.#layout.incompleteIds());
  }

  get(id: string, mountLabel?: string): Promise<string> {
    return this.#call('write', 'get', () => this.#get(id, mountLabel));
  }

  async #get(id: string, mountLabel: string | undefined): Promise<string> {
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

  put(id: string): Promise<void> {
    return this.#call('write', 'put', () => this.#put(id));
  }

  async #put(id: string): Promise<void> {
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

  /** Unmounts every union under mnt/; failures do not stop the others (ERR_CLEANUP). */
  cleanup(): Promise<void> {
    return this.#call('write', 'cleanup', () => this.#cleanup());
  }

  async #cleanup(): Promise<void> {
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
  diffSize(id: string, _parent?: string, options?: AbortOptions): Promise<number> {
    return this.#call('read', 'diffSize', async () => {
      const signal = signalOf(options);
      return this.#inDiffDir(id, (dir) => withCancelToken(signal, (token) => native.treeSize(dir, token)));
    });
  }

  /**
   * Adopts the images and containers of a Docker < 0.7 root at `legacyRoot`
   * (PATH/graph, PATH/containers); does nothing when it has no graph/.
   * `setupInit` fills each container's new -init layer, mounted.
   */
  migrate(legacyRoot: string, setupInit: SetupInit): Promise<void> {
    return this.#call('write', 'migrate', async () => {
      if (typeof legacyRoot !== 'string') throw invalidArgType('path', 'a string', legacyRoot);
      if (typeof setupInit !== 'function') throw invalidArgType('setupInit', 'a function', setupInit);
      await migrateLegacyRoot(
        {
          exists: async (id) => this.#layout.exists(checkId(id)),
          create: (id, parent) => this.#create(id, parent),
          get: (id) => this.#get(id, undefined),
          put: (id) => this.#put(id),
          diffPath: (id) => this.#layout.diffPath(id),
        },
        path.resolve(legacyRoot),
        setupInit,
      );
    });
  }

  /**
   * What the layer adds, modifies and deletes against its parents, as
   * Docker's aufs driver listed it (moby's archive.Changes), overlay-form
   * whiteouts of a mounted layer included. Like that driver, the layer's own
   * parent chain decides: `parent` is accepted for API compatibility only.
   */
  changes(id: string, _parent?: string, options?: AbortOptions): Promise<Change[]> {
    return this.#call('read', 'changes', async () => layerChanges(this.#layout, checkId(id), signalOf(options)));
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
  diff(id: string, _parent?: string, options?: AbortOptions): Promise<Readable> {
    return this.#call('read', 'diff', async () => {
      const signal = signalOf(options);
      return this.#inDiffDir(id, (dir) => diffStream(dir, signal));
    });
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
  applyDiff(id: string, _parent: string | undefined, diff: TarSource, options?: AbortOptions): Promise<number> {
    return this.#call('write', 'applyDiff', async () => {
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
