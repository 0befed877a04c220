// Loads the C++ addon: the one node-gyp built into build/, else a prebuilt
// binary from prebuilds/ that matches this platform.
import path from 'node:path';
import load from 'node-gyp-build';

/** Constants of <sys/mount.h> and the machine, as the addon was compiled with. */
export interface NativeConstants {
  readonly MS_RDONLY: number;
  readonly MS_NOSUID: number;
  readonly MS_NODEV: number;
  readonly MS_NOEXEC: number;
  readonly MS_REMOUNT: number;
  readonly MS_BIND: number;
  readonly MS_MOVE: number;
  readonly MS_REC: number;
  readonly MS_PRIVATE: number;
  readonly MS_SLAVE: number;
  readonly MS_SHARED: number;
  readonly MNT_FORCE: number;
  readonly MNT_DETACH: number;
  readonly MNT_EXPIRE: number;
  readonly UMOUNT_NOFOLLOW: number;
  readonly FUSE_SUPER_MAGIC: number;
  readonly PAGE_SIZE: number;
}

/** Set from JavaScript, polled by the pool thread running a walk. */
export interface CancelToken {
  cancel(): void;
}

/** How a LayerWriter resolves paths inside the layer. */
export interface LayerWriterOptions {
  /**
   * 'openat2' (default): one openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
   * per lookup where the kernel has it, else one openat(O_NOFOLLOW) per
   * component; 'components': always the latter.
   */
  resolve?: 'openat2' | 'components';
}

/** Extracts a layer tar into a layer directory, chunk by chunk, off the event loop. */
export interface LayerWriter {
  /** Parses and extracts the next bytes of the tar, in order. The chunks must not change until this settles. */
  write(chunks: readonly Uint8Array[]): Promise<void>;
  /**
   * Parses and extracts the tar read from the open file `fd`, `length` bytes
   * (-1: to end of file) from `offset` (-1: its current position), with no
   * JavaScript in the loop. Resolves to false, having read nothing, unless
   * `fd` is a regular file holding a plain (not gzip) tar there.
   */
  writeFile(fd: number, offset: number, length: number): Promise<boolean>;
  /** Ends the tar (rejects if it was cut short), sets directory times, resolves to the layer's treeSize. */
  finish(): Promise<number>;
  /** Releases the writer's descriptors after a failure; what was extracted stays. */
  close(): Promise<void>;
}

/** A file too big to travel inside a batch: the batch's bytes leave room for its contents. */
export interface DiffFile {
  /** Where in the batch's tar its contents belong. */
  offset: number;
  /** How many bytes of it belong there: what its header says. */
  size: number;
  /** Open on the file: the caller's to read `size` bytes from and close. */
  fd: number;
  /** Relative to the layer, for errors. */
  path: string;
}

/** The next bytes of a layer's tar, but the contents of the big files, which go at their offsets. */
export interface DiffBatch {
  tar: Buffer;
  /** In archive order. */
  files: DiffFile[];
}

/** A layer's tar, exactly as Docker's aufs driver writes it, made on the thread pool a batch at a time. */
export interface DiffReader {
  /** Opens the layer directory; rejects like fs (ENOENT...) when it cannot. */
  open(): Promise<void>;
  /**
   * The next batch, or null after the last (the one with the end of the
   * archive). Calls may overlap: they settle with consecutive batches in
   * the order they were made.
   */
  next(): Promise<DiffBatch | null>;
  /** Stops running next() calls and closes the directories the walk holds open. */
  close(): void;
}

/** A layer's directories to make, and its mount point to look at: see checkLayerMount. */
export interface MountSetup {
  dirs: ReadonlyArray<{ path: string; mode: number }>;
  mountPoint: string;
}

export interface LayerMountState {
  /** The layers file as read: the parents, one per line. */
  chain: string;
  /** Why the layers file is not one (a symlink, not a regular file, too long), or ''. */
  problem: string;
  /** The first listed parent that is no layer (no layers file, or a name that cannot have one), or ''. */
  missingParent: string;
  /** mountType() of the mount point, once the directories are made; 0 if not asked. */
  mountType: number;
}

/**
 * The addon's exports. Every function runs its syscalls on the libuv thread
 * pool and rejects with an Error shaped like Node's fs errors.
 */
export interface NativeBinding {
  mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void>;
  umount2(target: string, flags: number): Promise<void>;
  /**
   * Reads the layers file `layerFile`, never through a symlink. When the file
   * lists parents and `checkParents` or `setup` is given, also checks that
   * each has a file in `layersDir`; with `setup`, if so, makes `setup.dirs`
   * and asks mountType(setup.mountPoint): what the first get() of a layer
   * needs, in one trip to the thread pool.
   */
  checkLayerMount(layerFile: string, layersDir: string, checkParents: boolean, setup?: MountSetup): Promise<LayerMountState>;
  /** umount2(target, flags) when mountType(target) is `type`; resolves to whether it unmounted. */
  unmountIfType(target: string, type: number, flags: number): Promise<boolean>;
  /**
   * Takes the exclusive flock(2) of the lock file `lockFile` without waiting
   * and records this process and `owner` in it: `fd` holds the lock. When
   * another holds it, `fd` is -1 and `holderPid` (0: unknown) and
   * `holderOwner` say who.
   */
  lockRoot(lockFile: string, owner: string): Promise<{ fd: number; holderPid: number; holderOwner: string }>;
  /** f_type of the filesystem holding `path`. */
  statfsType(path: string): Promise<number>;
  /** f_type of the filesystem mounted at `path`, or 0 when `path` is not a mount root. */
  mountType(path: string): Promise<number>;
  /** syncfs(2) of the filesystem holding the directory `path`: all its writes made durable. */
  syncfs(path: string): Promise<void>;
  /** `rm -rf --one-file-system` without following symlinks. */
  removeTree(path: string): Promise<void>;
  /** Rewrites overlay whiteouts under `dir` into aufs form; resolves to how many. */
  convertOverlayWhiteouts(dir: string): Promise<number>;
  /** Bytes in the non-directories under `root`, each inode once. */
  treeSize(root: string, token?: CancelToken): Promise<number>;
  /**
   * Changes of the layer directory `root` against the layer directories
   * `parents` (nearest first), encoded as records of a kind digit, the path
   * and a NUL (see src/changes.ts).
   */
  changes(root: string, parents: readonly string[], token?: CancelToken): Promise<string>;
  /** A reader of the tar entries of the layer directory `root`. */
  diffReader(root: string): DiffReader;
  readonly CancelToken: new () => CancelToken;
  readonly LayerWriter: new (dir: string, token?: CancelToken, options?: LayerWriterOptions) => LayerWriter;
  readonly constants: NativeConstants;
}

/**
 * $AUFS_GRAPHDRIVER_NATIVE names a .node file to load instead: how the
 * sanitizer build (scripts/test-asan.sh) is tested.
 */
function loadAddon(): unknown {
  const override = process.env.AUFS_GRAPHDRIVER_NATIVE;
  return override ? require(override) : load(path.join(__dirname, '..'));
}

export const native = loadAddon() as NativeBinding;
