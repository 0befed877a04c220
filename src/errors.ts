// Errors the driver raises itself. Failed syscalls surface as the addon's
// errors instead, shaped like Node's fs errors (code, errno, syscall, path).

/** Every `code` that the driver's own errors carry. */
export type DriverErrorCode =
  | 'ERR_AUFS_NOT_SUPPORTED'
  | 'ERR_INCOMPATIBLE_FS'
  | 'ERR_INVALID_ID'
  | 'ERR_INVALID_OPTION'
  | 'ERR_LAYER_NOT_FOUND'
  | 'ERR_LAYER_EXISTS'
  | 'ERR_CORRUPT_LAYER'
  | 'ERR_MOUNT_OPTIONS'
  | 'ERR_MOUNT_PROGRAM'
  | 'ERR_CLEANUP'
  | 'ERR_BAD_METADATA'
  | 'ERR_FILE_CHANGED'
  | 'ERR_TAR_BREAKOUT'
  | 'ERR_TAR_INVALID'
  | 'ERR_TAR_LIMIT'
  | 'ERR_ROOT_LOCKED'
  | 'ERR_READ_ONLY'
  | 'ERR_DRIVER_CLOSED';

export class DriverError extends Error {
  readonly code: DriverErrorCode;
  /** The file or directory the error is about, when there is one. */
  readonly path?: string;

  constructor(code: DriverErrorCode, message: string, path?: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    if (path !== undefined) this.path = path;
  }
}

export function layerNotFound(id: string, path: string): DriverError {
  return new DriverError('ERR_LAYER_NOT_FOUND', `layer ${JSON.stringify(id)} does not exist`, path);
}

export class ErrAufsNotSupported extends DriverError {
  constructor() {
    super('ERR_AUFS_NOT_SUPPORTED', 'AUFS was not found in /proc/filesystems');
  }
}

export class ErrIncompatibleFS extends DriverError {
  constructor(path: string, fsName: string) {
    super(
      'ERR_INCOMPATIBLE_FS',
      `AUFS is not supported over ${fsName}: ${path} is on ${fsName}`,
      path,
    );
  }
}

/**
 * init() of a root another Driver owns, in this process or another: `pid`
 * is the owner's (0 when it cannot be known), `owner` what it said it is.
 */
export class ErrRootLocked extends DriverError {
  readonly pid: number;
  readonly owner: string;

  constructor(root: string, lockFile: string, pid: number, owner: string) {
    const holder =
      pid === 0 ? 'another driver' : pid === process.pid ? `another Driver of this process (pid ${pid})` : `process ${pid}`;
    super('ERR_ROOT_LOCKED', `root ${root} is in use by ${holder}${owner === '' ? '' : ` (${owner})`}`, lockFile);
    this.pid = pid;
    this.owner = owner;
  }
}

/** A TypeError like Node's ERR_INVALID_ARG_TYPE: an argument of the wrong kind. */
export function invalidArgType(name: string, expected: string, actual: unknown): TypeError & { code: 'ERR_INVALID_ARG_TYPE' } {
  const received = actual === null ? 'null' : typeof actual;
  return Object.assign(new TypeError(`The "${name}" argument must be ${expected}; received ${received}`), {
    code: 'ERR_INVALID_ARG_TYPE' as const,
  });
}

/** Several failures reported together, as cleanup() does. */
export class DriverAggregateError extends AggregateError {
  readonly code: DriverErrorCode;

  constructor(code: DriverErrorCode, errors: Error[], message: string) {
    super(errors, `${message}: ${errors.map((e) => e.message).join('; ')}`);
    this.name = 'DriverAggregateError';
    this.code = code;
  }
}

/** What an aborted operation rejects with, like Node's own AbortError. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';

  constructor(reason?: unknown) {
    super('The operation was aborted', reason === undefined ? undefined : { cause: reason });
    this.name = 'AbortError';
  }
}

/** The shape of a failed syscall's error, as Node's fs and our addon make them. */
export interface SystemError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  path?: string;
  dest?: string;
}

export function isErrorCode(err: unknown, ...codes: string[]): err is SystemError {
  return err instanceof Error && codes.includes((err as SystemError).code);
}
