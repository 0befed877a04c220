// Gathers small chunks into blocks on their way to a Node stream. tar-stream
// emits a chunk per header, per small file and per padding, and consumers pay
// per chunk: a stream piped to a file makes a write() of each.

const BLOCK_SIZE = 256 * 1024;

export class Coalescer {
  readonly #emit: (block: Buffer) => void;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #flushScheduled = false;

  /** `emit` gets the blocks, and chunks big enough on their own, in order. */
  constructor(emit: (block: Buffer) => void) {
    this.#emit = emit;
  }

  add(chunk: Buffer): void {
    if (chunk.length >= BLOCK_SIZE) {
      this.flush();
      this.#emit(chunk);
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes >= BLOCK_SIZE) {
      this.flush();
    } else if (!this.#flushScheduled) {
      // Whatever the producer adds before it next waits goes out in this block.
      this.#flushScheduled = true;
      setImmediate(this.#flushScheduledBlock);
    }
  }

  flush(): void {
    if (this.#bytes === 0) return;
    const block = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#bytes);
    this.#chunks = [];
    this.#bytes = 0;
    this.#emit(block);
  }

  readonly #flushScheduledBlock = (): void => {
    this.#flushScheduled = false;
    this.flush();
  };
}
