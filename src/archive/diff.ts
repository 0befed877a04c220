// diff(): a layer's own files as an uncompressed tar stream, byte for byte
// the tar Docker's aufs driver makes of it. The addon walks the layer, reads
// small files and frames everything on the thread pool (native/diff_reader.h,
// native/tar_writer.h); here the batches it makes are sent on as they are,
// with the contents of big files read in large chunks into the places the
// batches leave for them, as the consumer asks for data.
import { read } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import { throwIfAborted } from '../abort';
import { AbortError, DriverError } from '../errors';
import { native, type DiffBatch, type DiffFile, type DiffReader } from '../native';
import { BatchReadAhead, closeFd, closeFiles } from './readAhead';

/** Bytes per read of a big file. */
const CHUNK_SIZE = 1 << 20;
/** Output buffered for the consumer before the stream waits for it. */
const HIGH_WATER_MARK = 256 * 1024;

/** Opens the layer directory `dir` (rejecting like fs when it cannot) and returns its tar. */
export async function diffStream(dir: string, signal?: AbortSignal): Promise<Readable> {
  throwIfAborted(signal);
  const reader = native.diffReader(dir);
  try {
    await reader.open();
    throwIfAborted(signal);
  } catch (err) {
    reader.close();
    throw err;
  }
  return new DiffStream(reader, dir, signal);
}

class DiffStream extends Readable {
  readonly #dir: string;
  readonly #signal: AbortSignal | undefined;
  readonly #batches: BatchReadAhead;
  /** Sends the batches, from the first read() on. */
  #sending: Promise<void> | undefined;
  /** Lets #sending go on once the consumer wants more (or the stream is destroyed). */
  #resume: (() => void) | undefined;

  constructor(reader: DiffReader, dir: string, signal: AbortSignal | undefined) {
    super({ highWaterMark: HIGH_WATER_MARK });
    this.#dir = dir;
    this.#signal = signal;
    this.#batches = new BatchReadAhead(reader);
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  override _read(): void {
    this.#sending ??= this.#sendAll().catch((err: Error) => {
      this.destroy(err);
    });
    this.#wake();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#wake(); // lets #sendAll see the end and close what it holds
    // Calls back once every descriptor is closed: 'close' means released.
    Promise.allSettled([this.#batches.close(), this.#sending]).then(() => callback(err));
  }

  #wake(): void {
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
  }

  readonly #onAbort = (): void => {
    this.destroy(new AbortError(this.#signal?.reason));
  };

  async #sendAll(): Promise<void> {
    for (;;) {
      const batch = await this.#batches.take();
      if (this.destroyed) {
        if (batch !== null) await closeFiles(batch.files);
        return;
      }
      if (batch === null) {
        this.push(null);
        return;
      }
      await this.#sendBatch(batch);
    }
  }

  /** Sends the batch's bytes with its files' contents in their places, then closes the files. */
  async #sendBatch(batch: DiffBatch): Promise<void> {
    let sent = 0;
    let copied = 0;
    try {
      for (const file of batch.files) {
        await this.#send(batch.tar.subarray(sent, file.offset));
        sent = file.offset;
        copied++;
        await this.#copy(file);
      }
      await this.#send(batch.tar.subarray(sent));
    } finally {
      await closeFiles(batch.files.slice(copied));
    }
  }

  /** Pushes `chunk`, then waits while the consumer has enough. */
  async #send(chunk: Buffer): Promise<void> {
    if (this.destroyed) throw new AbortError();
    if (chunk.length > 0 && !this.push(chunk)) {
      await new Promise<void>((resolve) => (this.#resume = resolve));
    }
  }

  /**
   * Sends exactly `file.size` bytes of the file, then closes it. The next
   * chunk is read while the consumer takes the one before.
   */
  async #copy(file: DiffFile): Promise<void> {
    const where = path.join(this.#dir, file.path);
    const readChunk = (at: number): Promise<Buffer> => {
      const chunk = readFully(file.fd, at, Math.min(CHUNK_SIZE, file.size - at), where);
      chunk.catch(() => undefined); // its failure is the loop's, once it gets there
      return chunk;
    };
    let next: Promise<Buffer> | undefined = readChunk(0);
    try {
      for (let at = 0; next !== undefined && !this.destroyed; ) {
        const chunk: Buffer = await next;
        next = undefined;
        if (chunk.length < Math.min(CHUNK_SIZE, file.size - at)) {
          // The header promised more; zeros would fake contents.
          throw new DriverError(
            'ERR_FILE_CHANGED',
            `file shrank by ${file.size - at - chunk.length} bytes while it was archived`,
            where,
          );
        }
        // Reads stop at the header's size: bytes a growing file gains are left out.
        at += chunk.length;
        if (at < file.size) next = readChunk(at);
        await this.#send(chunk);
      }
    } finally {
      // Not closed under a read still running: the number could name another file by then.
      await next?.catch(() => undefined);
      await closeFd(file.fd);
    }
  }
}

/** `length` bytes of the file from `position`, fewer only where it ends. */
async function readFully(fd: number, position: number, length: number, file: string): Promise<Buffer> {
  const buffer = Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    const bytes = await readAt(fd, buffer, done, position + done, file);
    if (bytes === 0) return buffer.subarray(0, done);
    done += bytes;
  }
  return buffer;
}

function readAt(fd: number, buffer: Buffer, offset: number, position: number, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, offset, buffer.length - offset, position, (err, bytes) => {
      if (err === null) resolve(bytes);
      else reject(Object.assign(err, { path: file }));
    });
  });
}
