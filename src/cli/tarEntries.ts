// Counts the entries of a tar going by, for the progress line: a copy of each
// chunk goes through tar-stream's parser, off the data's own path, so a parse
// error only stops the count.
import { extract } from 'tar-stream';

/** What tar-stream's (streamx) extractor is, as far as the counter uses it. */
interface Sink {
  write(chunk: Uint8Array): unknown;
  end(chunk?: Uint8Array): unknown;
  destroy(): unknown;
}

export class TarEntryCounter {
  entries = 0;
  /** Set when the data stopped parsing as a tar: the count is not to be trusted. */
  failed = false;
  readonly #parser: Sink;

  constructor() {
    const parser = extract();
    parser.on('entry', (_header, body, next) => {
      this.entries++;
      body.on('end', () => next());
      body.resume();
    });
    parser.on('error', () => {
      this.failed = true;
    });
    this.#parser = parser;
  }

  write(chunk: Uint8Array): void {
    if (!this.failed) this.#parser.write(chunk);
  }

  end(): void {
    if (!this.failed) this.#parser.end();
  }
}
