// The progress line of long work: on stderr, only when stderr is a terminal,
// redrawn at most ten times a second and cleared at the end, so that stdout
// (a tar, a list of changes) never carries any of it.
import { humanCount, humanDuration, humanSize } from './format';
import { TarEntryCounter } from './tarEntries';

const REDRAW_MS = 100;
const CLEAR_LINE = '\r\x1b[K';

/** A step of a stream pipeline: what stream.pipeline() takes between source and destination. */
export type ChunkTap = (chunks: AsyncIterable<Uint8Array>) => AsyncGenerator<Uint8Array>;

/** What the line shows besides the elapsed time. */
export interface ProgressFields {
  /** Entries of the tar passed through countEntries(). */
  entries?: boolean;
  /** Bytes passed through countBytes(), and the rate. */
  bytes?: boolean;
  /** The bytes expected, when known: shown as a percentage. */
  totalBytes?: number;
}

export interface ProgressTarget {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
}

export class Progress {
  readonly #target: ProgressTarget;
  readonly #label: string;
  readonly #started = performance.now();
  readonly #timer: NodeJS.Timeout;
  readonly #fields: ProgressFields;
  #bytes = 0;
  readonly #entries = new TarEntryCounter();

  /**
   * A progress line on `target` (stderr) labelled `label`, showing `fields`
   * and the elapsed time; undefined when `target` is not a terminal.
   */
  static start(label: string, fields: ProgressFields = {}, target: ProgressTarget = process.stderr): Progress | undefined {
    return target.isTTY === true ? new Progress(label, fields, target) : undefined;
  }

  private constructor(label: string, fields: ProgressFields, target: ProgressTarget) {
    this.#label = label;
    this.#fields = fields;
    this.#target = target;
    this.#timer = setInterval(() => this.#draw(), REDRAW_MS).unref();
    this.#draw();
  }

  /** Passes chunks on, counting their bytes. */
  countBytes(): ChunkTap {
    return tap((chunk) => {
      this.#bytes += chunk.length;
    });
  }

  /** Passes a plain tar on, counting its entries. */
  countEntries(): ChunkTap {
    return tap(
      (chunk) => this.#entries.write(chunk),
      () => this.#entries.end(),
    );
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#target.write(CLEAR_LINE);
  }

  #draw(): void {
    const seconds = (performance.now() - this.#started) / 1000;
    const parts: string[] = [];
    if (this.#fields.entries === true) {
      parts.push(`${this.#entries.failed ? '?' : humanCount(this.#entries.entries)} entries`);
    }
    if (this.#fields.bytes === true) {
      const total = this.#fields.totalBytes;
      const percent = total ? ` (${Math.floor((100 * this.#bytes) / total)}%)` : '';
      parts.push(`${humanSize(this.#bytes)}${percent}`, `${humanSize(seconds > 0 ? this.#bytes / seconds : 0)}/s`);
    }
    parts.push(humanDuration(seconds));
    const line = `${this.#label}: ${parts.join(', ')}`;
    // A line that wraps could no longer be redrawn in place.
    const width = (this.#target.columns ?? 0) - 1;
    this.#target.write(CLEAR_LINE + (width > 0 ? line.slice(0, width) : line));
  }
}

function tap(onChunk: (chunk: Uint8Array) => void, onEnd?: () => void): ChunkTap {
  return async function* (chunks) {
    for await (const chunk of chunks) {
      onChunk(chunk);
      yield chunk;
    }
    onEnd?.();
  };
}
