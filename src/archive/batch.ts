// The batches of tar entries the addon's DiffReader returns: records of a
// fixed little-endian header and variable parts, laid out as
// native/diff_reader.h describes.
import { close } from 'node:fs';

/** tar-stream's names for the entry kinds, in the addon's DiffKind order. */
const KINDS = ['file', 'link', 'symlink', 'character-device', 'block-device', 'directory', 'fifo'] as const;

export type EntryKind = (typeof KINDS)[number];

const HEADER_SIZE = 60;
const PATH_ASCII = 1;
const LINK_ASCII = 2;
const EMPTY = Buffer.alloc(0);

export interface DiffEntry {
  type: EntryKind;
  /** Permission bits with setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  devmajor: number;
  devminor: number;
  /** Open on the contents of a file too big to inline (the reader's to close), else -1. */
  fd: number;
  size: number;
  /** Whole seconds. */
  mtime: number;
  /** Relative to the layer, without a trailing slash. */
  path: Buffer;
  pathAscii: boolean;
  /** A symlink's target or a hard link's first name; empty for other kinds. */
  link: Buffer;
  linkAscii: boolean;
  /** The security.capability xattr; empty when the file has none. */
  capability: Buffer;
  /** A regular file's contents when inlined (fd is -1). */
  content: Buffer;
}

export class BatchCursor {
  readonly #buffer: Buffer;
  readonly #view: DataView;
  #offset = 0;

  constructor(buffer: Buffer) {
    this.#buffer = buffer;
    this.#view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  /** The next record, or undefined after the last. */
  next(): DiffEntry | undefined {
    const at = this.#offset;
    if (at >= this.#buffer.length) return undefined;
    const v = this.#view;
    const flags = v.getUint8(at + 1);
    const pathEnd = at + HEADER_SIZE + v.getUint32(at + 28, true);
    const linkEnd = pathEnd + v.getUint32(at + 32, true);
    const capabilityEnd = linkEnd + v.getUint32(at + 36, true);
    const contentEnd = capabilityEnd + v.getUint32(at + 40, true);
    this.#offset = contentEnd;
    return {
      type: KINDS[v.getUint8(at)],
      mode: v.getUint32(at + 4, true),
      uid: v.getUint32(at + 8, true),
      gid: v.getUint32(at + 12, true),
      devmajor: v.getUint32(at + 16, true),
      devminor: v.getUint32(at + 20, true),
      fd: v.getInt32(at + 24, true),
      size: v.getFloat64(at + 44, true),
      mtime: v.getFloat64(at + 52, true),
      path: this.#buffer.subarray(at + HEADER_SIZE, pathEnd),
      pathAscii: (flags & PATH_ASCII) !== 0,
      link: this.#slice(pathEnd, linkEnd),
      linkAscii: (flags & LINK_ASCII) !== 0,
      capability: this.#slice(linkEnd, capabilityEnd),
      content: this.#slice(capabilityEnd, contentEnd),
    };
  }

  // Most parts are empty: one shared Buffer spares the allocations.
  #slice(start: number, end: number): Buffer {
    return start === end ? EMPTY : this.#buffer.subarray(start, end);
  }

  /** Descriptors of the records next() has not returned yet. */
  remainingFds(): number[] {
    const fds: number[] = [];
    for (let entry = this.next(); entry !== undefined; entry = this.next()) {
      if (entry.fd >= 0) fds.push(entry.fd);
    }
    return fds;
  }
}

/** Closes a descriptor from a batch; only read from, so nothing is lost on error. */
export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/** Closes the descriptors of the records of `batch` not archived yet. */
export function closeFds(batch: Buffer | BatchCursor): Promise<void> {
  const cursor = batch instanceof BatchCursor ? batch : new BatchCursor(batch);
  return Promise.all(cursor.remainingFds().map(closeFd)).then(() => undefined);
}
