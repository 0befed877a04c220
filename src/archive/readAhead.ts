// Keeps the addon's DiffReader busy: two batches are made on the thread pool
// at once (one walks the layer while the other reads and frames its files)
// while the stream sends earlier ones.
import { close } from 'node:fs';

import type { DiffBatch, DiffFile, DiffReader } from '../native';

/**
 * Batches being made at once: a diff of 100k files of 4 KiB took a median
 * 1.08 s with two, 1.33 s with one (benchmarks/README.md, item 7). More
 * would only wait for their turn to walk, holding pool threads.
 */
const IN_FLIGHT = 2;
/** Batches made or being made that the stream has not taken yet. */
const AHEAD = 3;

type Outcome = { batch: DiffBatch | null } | { error: Error };

export class BatchReadAhead {
  readonly #reader: DiffReader;
  /** The outcomes of next() calls, in call order; none rejects. */
  readonly #queue: Array<Promise<Outcome>> = [];
  #inFlight = 0;
  #ended = false;

  constructor(reader: DiffReader) {
    this.#reader = reader;
  }

  /** The next batch, or null after the last. One call at a time. */
  async take(): Promise<DiffBatch | null> {
    this.#fill();
    const next = this.#queue.shift();
    this.#fill();
    if (next === undefined) return null;
    const outcome = await next;
    if ('error' in outcome) throw outcome.error;
    return outcome.batch;
  }

  /**
   * Stops reading; a take() waiting gets null or the reader's ABORT_ERR.
   * Settles once the descriptors of every batch not taken are closed.
   */
  async close(): Promise<void> {
    this.#ended = true;
    this.#reader.close();
    const untaken = this.#queue.splice(0);
    await Promise.all(
      untaken.map(async (pending) => {
        const outcome = await pending;
        if ('batch' in outcome && outcome.batch !== null) await closeFiles(outcome.batch.files);
      }),
    );
  }

  #fill(): void {
    while (!this.#ended && this.#inFlight < IN_FLIGHT && this.#queue.length < AHEAD) {
      this.#inFlight++;
      this.#queue.push(
        this.#reader.next().then(
          (batch): Outcome => {
            this.#inFlight--;
            // The calls still running end the archive or find nothing after
            // it; close() releases the reader once the stream is done.
            if (batch === null) this.#ended = true;
            this.#fill();
            return { batch };
          },
          (error: Error): Outcome => {
            this.#inFlight--;
            this.#ended = true;
            return { error };
          },
        ),
      );
    }
  }
}

/** Closes a descriptor from a batch; only read from, so nothing is lost on error. */
export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/** Closes the descriptors of big files not copied. */
export async function closeFiles(files: readonly DiffFile[]): Promise<void> {
  await Promise.all(files.map((file) => closeFd(file.fd)));
}
