// diff(): a layer's own files as an uncompressed tar stream. The addon walks
// the layer and reads small files on the thread pool, in batches read ahead;
// big files are read here, in large chunks, as the consumer asks for data.
// tar-stream frames the entries.
import { read } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

import { pack, type Pack } from 'tar-stream';

import { throwIfAborted } from '../abort';
import { AbortError, DriverError } from '../errors';
import { native, type DiffReader } from '../native';
import { BatchCursor, closeFd, closeFds, type DiffEntry } from './batch';
import { Coalescer } from './coalesce';
import { BatchReadAhead } from './readAhead';
import { tarHeader, type TarHeader } from './tarHeader';

type EntrySink = ReturnType<Pack['entry']>;

/** Bytes per read of a big file. */
const CHUNK_SIZE = 1 << 20;
/** Output buffered for the consumer before the stream waits for it. */
const HIGH_WATER_MARK = 256 * 1024;
/**
 * Longest run of entries archived without a turn of the event loop: a batch
 * of 512 small files took 30-35 ms in one go (npm run bench, diff (b)).
 */
const SLICE_MS = 5;

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
  readonly #pack: Pack = pack();
  readonly #output = new Coalescer((block) => {
    if (!this.destroyed && !this.push(block)) this.#wanted = false;
  });
  /** The batch being archived. */
  #batch: BatchCursor | undefined;
  /** Waits for the next batch; settles once that batch is in hand. */
  #taking: Promise<void> | undefined;
  /** The copy of a big file's contents in progress (it owns the descriptor). */
  #copying: Promise<void> | undefined;
  /** False from a push() the consumer had enough with, until it reads again. */
  #wanted = false;
  /** Continues the work that stopped because the consumer had enough. */
  #resume: (() => void) | undefined;
  /** When the event loop last had a turn. */
  #sliceStart = performance.now();

  constructor(reader: DiffReader, dir: string, signal: AbortSignal | undefined) {
    super({ highWaterMark: HIGH_WATER_MARK });
    this.#dir = dir;
    this.#signal = signal;
    this.#batches = new BatchReadAhead(reader);
    this.#pack.on('data', (chunk: unknown) => this.#output.add(chunk as Buffer));
    this.#pack.on('end', () => {
      this.#output.flush();
      this.push(null);
    });
    this.#pack.on('error', (err: Error) => this.destroy(err));
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#resume = this.#pump;
  }

  override _read(): void {
    this.#wanted = true;
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#pack.destroy();
    this._read(); // lets a waiting copy see the end and close its file
    const releases = [this.#batches.close(), this.#taking, this.#copying];
    if (this.#batch !== undefined) releases.push(closeFds(this.#batch));
    this.#batch = undefined;
    // Calls back once every descriptor is closed: 'close' means released.
    Promise.allSettled(releases).then(() => callback(err));
  }

  readonly #onAbort = (): void => {
    this.destroy(new AbortError(this.#signal?.reason));
  };

  /** Writes the next entry; tar-stream calls it again once the entry is written. */
  readonly #pump = (err?: Error | null): void => {
    if (err) this.destroy(err);
    if (this.destroyed) return;
    if (!this.#wanted) {
      this.#resume = this.#pump;
      return;
    }
    // tar-stream moves from entry to entry in microtasks, which the event loop
    // waits behind: it gets a turn every few milliseconds.
    if (performance.now() - this.#sliceStart >= SLICE_MS) {
      setImmediate(this.#continue);
      return;
    }
    const entry = this.#batch?.next();
    if (entry === undefined) {
      this.#takeBatch();
      return;
    }
    let tar: TarHeader;
    try {
      tar = tarHeader(entry, this.#dir);
    } catch (headerErr) {
      // Only a device can fail, and it holds no descriptor.
      this.destroy(headerErr as Error);
      return;
    }
    // tar-stream writes nothing between entries: this lands right before the entry's header.
    if (tar.pax !== undefined) this.#pack.push(tar.pax);
    if (entry.fd >= 0) {
      const sink = this.#pack.entry(tar.header, this.#pump);
      this.#copying = this.#copy(entry, sink).catch((copyErr: Error) => {
        this.destroy(copyErr);
      });
    } else if (entry.type === 'file') {
      this.#pack.entry(tar.header, entry.content, this.#pump);
    } else {
      this.#pack.entry(tar.header, this.#pump);
    }
  };

  /** #pump after a turn of the event loop. */
  readonly #continue = (): void => {
    this.#sliceStart = performance.now();
    this.#pump();
  };

  #takeBatch(): void {
    this.#batch = undefined;
    this.#taking = this.#batches.take().then(
      (batch) => {
        if (this.destroyed) return batch === null ? undefined : closeFds(batch);
        if (batch === null) {
          this.#pack.finalize();
        } else {
          this.#batch = new BatchCursor(batch);
          setImmediate(this.#continue);
        }
        return undefined;
      },
      (err: Error) => {
        this.destroy(err);
      },
    );
  }

  /** Streams a big file's contents into its entry, then closes the file. */
  async #copy(entry: DiffEntry, sink: EntrySink): Promise<void> {
    const file = path.join(this.#dir, entry.path.toString());
    try {
      let offset = 0;
      while (offset < entry.size && !this.destroyed) {
        const chunk = Buffer.allocUnsafeSlow(Math.min(CHUNK_SIZE, entry.size - offset));
        const bytes = await readAt(entry.fd, chunk, offset, file);
        if (bytes === 0) {
          // The header promised more; zeros would fake contents.
          throw new DriverError(
            'ERR_FILE_CHANGED',
            `file shrank by ${entry.size - offset} bytes while it was archived`,
            file,
          );
        }
        offset += bytes;
        // Reads stop at the header's size: bytes a growing file gains are left out.
        const data = bytes === chunk.length ? chunk : chunk.subarray(0, bytes);
        if (offset === entry.size) sink.end(data);
        else if (!sink.write(data) && !this.destroyed) await drained(sink);
        if (!this.#wanted) await new Promise<void>((resolve) => (this.#resume = resolve));
      }
    } finally {
      await closeFd(entry.fd);
    }
  }
}

function readAt(fd: number, buffer: Buffer, position: number, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, buffer.length, position, (err, bytes) => {
      if (err === null) resolve(bytes);
      else reject(Object.assign(err, { path: file }));
    });
  });
}

/** Waits until `sink` takes more data, or is destroyed. */
function drained(sink: EntrySink): Promise<void> {
  if (sink.destroying) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}
