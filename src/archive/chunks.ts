// Byte streams on their way to the tar engine: cut short the moment an
// operation aborts, and regrouped into large batches so that each call into
// the addon carries many small entries at once.
import { AbortError } from '../errors';

/** Bytes per call into the addon: a few hundred small files, or one large write. */
export const BATCH_SIZE = 1 << 20;

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
 * Regroups byte chunks into batches for `write`, copied into two buffers
 * used in turn. A batch goes out when its buffer is full or when `write` is
 * idle: while the addon is busy, batches grow to a few hundred small files;
 * while it waits, nothing waits for a buffer to fill. One write at a time,
 * and memory stays at two buffers whatever the input.
 */
export class Batcher {
  readonly #write: (batch: Uint8Array) => Promise<void>;
  readonly #onFailure: (error: unknown) => void;
  readonly #buffers: Buffer[];
  #current = 0;
  #fill = 0;
  #writing: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;

  /** `onFailure` hears of a failed write at once, while push() may be waiting for input. */
  constructor(write: (batch: Uint8Array) => Promise<void>, onFailure: (error: unknown) => void, size = BATCH_SIZE) {
    this.#write = write;
    this.#onFailure = onFailure;
    this.#buffers = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
  }

  /** Takes `chunk` (copied); throws the failure of an earlier write. */
  async push(chunk: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    const size = this.#buffers[0].length;
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(chunk.length - offset, size - this.#fill);
      this.#buffers[this.#current].set(chunk.subarray(offset, offset + n), this.#fill);
      this.#fill += n;
      offset += n;
      if (this.#fill === size) {
        await this.#idle();
        this.#send();
      }
    }
    if (this.#writing === undefined && this.#fill > 0) this.#send();
  }

  /** Sends what is left and waits for it; throws the first write's failure. */
  async flush(): Promise<void> {
    await this.#idle();
    if (this.#fill > 0) this.#send();
    await this.#idle();
  }

  /** The first failed write's error. */
  get failure(): { error: unknown } | undefined {
    return this.#failure;
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
    const batch = this.#buffers[this.#current].subarray(0, this.#fill);
    this.#current ^= 1;
    this.#fill = 0;
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
