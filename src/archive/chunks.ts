// Byte streams on their way to the tar engine: cut short the moment an
// operation aborts, and grouped into batches so that each call into the
// addon carries many small entries at once.
import { AbortError } from '../errors';

/** Bytes per call into the addon: a few hundred small files, or one large write. */
const BATCH_SIZE = 1 << 20;

/**
 * Yields `source`'s items until `signal` aborts, then throws an AbortError at
 * once, even while `source` is still waiting for data.
 */
export async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  for (;;) {
    const result = await untilAborted(iterator.next(), signal);
    if (result.done === true) return;
    yield result.value;
  }
}

/**
 * `promise`, or an AbortError as soon as `signal` aborts. Each call listens
 * only while it waits: racing one long-lived promise instead would keep
 * every settled value reachable.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError(signal.reason));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * Groups byte chunks into batches for `write`: a batch goes out once it holds
 * `size` bytes, or as soon as `write` is idle. While the addon is busy,
 * batches grow to a few hundred small files; while it waits, nothing waits
 * for a batch to fill. Chunks are passed on, not copied, so they must not be
 * reused by their producer (streams never do). One write at a time: at most
 * two batches are held whatever the input.
 */
export class Batcher {
  readonly #write: (batch: Uint8Array[]) => Promise<void>;
  readonly #onFailure: (error: unknown) => void;
  readonly #size: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #writing: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;

  /** `onFailure` hears of a failed write at once, while push() may be waiting for input. */
  constructor(write: (batch: Uint8Array[]) => Promise<void>, onFailure: (error: unknown) => void, size = BATCH_SIZE) {
    this.#write = write;
    this.#onFailure = onFailure;
    this.#size = size;
  }

  /** The first failed write's error. */
  get failure(): { error: unknown } | undefined {
    return this.#failure;
  }

  /** Takes `chunk`; throws the failure of an earlier write. */
  async push(chunk: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    if (chunk.length === 0) return;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= this.#size) await this.#idle();
    if (this.#writing === undefined) this.#send();
  }

  /** Sends what is left and waits for it; throws the first write's failure. */
  async flush(): Promise<void> {
    await this.#idle();
    if (this.#pending.length > 0) this.#send();
    await this.#idle();
  }

  /** Waits until no write is running, whatever its outcome. */
  async settle(): Promise<void> {
    await this.#writing;
  }

  async #idle(): Promise<void> {
    await this.#writing;
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  #send(): void {
    const batch = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#writing = this.#write(batch).then(
      () => {
        this.#writing = undefined;
      },
      (error: unknown) => {
        this.#writing = undefined;
        this.#failure ??= { error };
        this.#onFailure(error);
      },
    );
  }
}
