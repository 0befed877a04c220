// Keeps the addon's DiffReader busy: batches are read on the thread pool
// while earlier ones are archived, up to a fixed number ahead.
import type { DiffReader } from '../native';
import { closeFds } from './batch';

/** Batches waiting to be archived, besides the one being read. */
const DEPTH = 2;

interface Waiter {
  resolve(batch: Buffer | null): void;
  reject(err: Error): void;
}

export class BatchReadAhead {
  readonly #reader: DiffReader;
  readonly #ready: Buffer[] = [];
  #reading: Promise<void> | undefined;
  #waiter: Waiter | undefined;
  #error: Error | undefined;
  #done = false;
  #closed = false;

  constructor(reader: DiffReader) {
    this.#reader = reader;
  }

  /** The next batch, or null after the last. One call at a time. */
  take(): Promise<Buffer | null> {
    const batch = this.#ready.shift();
    this.#readMore();
    if (batch !== undefined) return Promise.resolve(batch);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#done || this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /**
   * Stops reading; a take() waiting gets null. Settles once the descriptors
   * of every batch not taken are closed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#reader.close();
    this.#settle();
    const untaken = this.#ready.splice(0);
    await Promise.all([this.#reading, ...untaken.map(closeFds)]);
  }

  #readMore(): void {
    if (this.#reading !== undefined || this.#done || this.#closed || this.#error !== undefined) return;
    if (this.#ready.length >= DEPTH) return;
    this.#reading = this.#reader.next().then(
      (batch) => {
        this.#reading = undefined;
        if (this.#closed) return batch === null ? undefined : closeFds(batch);
        if (batch === null) {
          this.#done = true;
          this.#reader.close();
        } else {
          this.#ready.push(batch);
        }
        this.#settle();
        this.#readMore();
        return undefined;
      },
      (err: Error) => {
        this.#reading = undefined;
        // After close(), this is the reader's ABORT_ERR: nobody waits for it.
        if (!this.#closed) this.#error = err;
        this.#settle();
      },
    );
  }

  /** Hands a waiting take() what there is now. */
  #settle(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    const batch = this.#ready.shift();
    if (batch !== undefined) waiter.resolve(batch);
    else if (this.#error !== undefined) waiter.reject(this.#error);
    else if (this.#done || this.#closed) waiter.resolve(null);
    else return;
    this.#waiter = undefined;
    this.#readMore();
  }
}
