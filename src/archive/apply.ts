// applyDiff's engine: a layer tar, plain or gzip, streamed into a layer
// directory by the addon's LayerWriter, which parses it on the thread pool
// and makes every entry through descriptors beneath the layer. JavaScript
// only moves bytes: one batch in the addon while the next one fills.
import type { Readable } from 'node:stream';

import { withCancelToken, type AbortOptions } from '../abort';
import { DriverError, isErrorCode } from '../errors';
import { native, type LayerWriterOptions } from '../native';
import { Batcher, abortable } from './chunks';
import { decompressed } from './decompress';

/** A layer tar: a byte stream, or any async iterable of byte chunks. */
export type TarSource = Readable | AsyncIterable<Uint8Array>;

export interface ApplyOptions extends AbortOptions, LayerWriterOptions {}

const TAR_ERROR_CODES = ['ERR_TAR_BREAKOUT', 'ERR_TAR_INVALID', 'ERR_TAR_LIMIT'] as const;

/**
 * Extracts `diff` into the existing directory `dir` and resolves to the
 * directory's size as treeSize counts it. On failure what was extracted
 * stays (for the caller to remove) and a stream `diff` is destroyed.
 */
export async function applyTar(dir: string, diff: TarSource, options: ApplyOptions = {}): Promise<number> {
  const { signal, resolve } = options;
  return withCancelToken(signal, async (token) => {
    const writer = new native.LayerWriter(dir, token, { resolve });
    // Stops reading the source when the caller aborts or a write fails.
    const stop = new AbortController();
    const onAbort = (): void => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const batcher = new Batcher(
      (batch) => writer.write(batch),
      () => stop.abort(),
    );
    try {
      for await (const chunk of decompressed(abortable(diff as AsyncIterable<unknown>, stop.signal))) {
        await batcher.push(chunk);
      }
      await batcher.flush();
      return await writer.finish();
    } catch (err) {
      await batcher.settle();
      await writer.close();
      destroyStream(diff);
      // The write's own error, not the AbortError it caused upstream.
      const failure = batcher.failure;
      throw asDriverError(failure === undefined ? err : failure.error, dir);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  });
}

function destroyStream(diff: TarSource): void {
  const stream = diff as Partial<Readable>;
  if (typeof stream.destroy === 'function') stream.destroy();
}

/** The archive errors (the addon's, gzip's) as DriverErrors about the layer directory. */
function asDriverError(err: unknown, dir: string): unknown {
  if (!isErrorCode(err, ...TAR_ERROR_CODES)) return err;
  return new DriverError(err.code as (typeof TAR_ERROR_CODES)[number], err.message, dir);
}
